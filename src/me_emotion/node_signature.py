"""Signatures of what a node reads: its datasets' content and its code.

``IncrementalRunner`` (``me_emotion.runner``) skips a node when these are
unchanged since its last successful run. Datasets count by content (a sealed
partition folder by its per-clip fingerprints, a raw release folder by its
files' names, sizes and times); code by ``code_fingerprint``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from kedro.io import MemoryDataset
from kedro.pipeline.node import Node

from me_emotion.code_closure import closure_digest
from me_emotion.datasets.sealed_partitions import SEAL_FILE
from me_emotion.fingerprint import fingerprint

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"  # an input that cannot be fingerprinted: always re-run


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


def _folder_listing(path: Path) -> str:
    """Names, sizes and modification times of every file under ``path``."""
    entries = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            entries.append(
                [
                    os.path.relpath(os.path.join(root, name), path),
                    stat.st_size,
                    stat.st_mtime_ns,
                ]
            )
    return fingerprint(entries)


def _local_path(dataset: Any) -> Path | None:
    """The local file or folder behind a dataset, if it has one."""
    for attribute in ("_filepath", "_path", "_normalized_path"):
        value = getattr(dataset, attribute, None)
        if value is None:
            continue
        text = str(value)
        if "://" in text and not text.startswith("file://"):
            return None  # remote storage: not fingerprinted, the node re-runs
        return Path(text.removeprefix("file://"))
    return None


def dataset_fingerprint(name: str, catalog: Any) -> str | None:
    """What ``name`` holds now: a digest, None when it should not count, or
    ``unknown``."""
    dataset = catalog.get(name)
    # parameters, and small datasets with no file behind them: by their value
    if (
        name.startswith("params:")
        or name == "parameters"
        or getattr(dataset, "RUN_STAMP_BY_CONTENT", False)
    ):
        return fingerprint(catalog.load(name))
    if getattr(dataset, "IGNORED_BY_RUN_STAMPS", False):
        return None
    run_stamp = getattr(dataset, "run_stamp", None)
    if callable(run_stamp):  # a read-only input that says what it holds, cheaply
        return run_stamp()
    return _files_fingerprint(dataset)


def _files_fingerprint(dataset: Any) -> str:
    """Digest of the local file or folder behind ``dataset`` (``unknown``: none)."""
    path = _local_path(dataset)
    if path is None:
        return UNKNOWN
    if not path.exists() or getattr(dataset, "seal_problem", lambda: None)():
        return "absent"  # a folder that does not match its seal is not done
    if path.is_dir():
        seal = path / SEAL_FILE
        return _file_digest(seal) if seal.is_file() else _folder_listing(path)
    return _file_digest(path)


class NodeFingerprintError(TypeError):
    """A node's function whose code cannot be fingerprinted."""


_MAX_DEPTH = 32  # nested partials / wrappers / bound values followed this deep


def code_fingerprint(func: Any) -> str:
    """A stable digest of what a node's function runs: code changes re-run it.

    ``functools.partial`` (nested, and ``update_wrapper`` chains), other
    ``__wrapped__`` chains, bound methods, callable objects and lambdas are
    followed to the plain function underneath; the digest covers that
    function's module and qualified name, its source file's content, and the
    values bound on the way (partial arguments, the bound object, closure
    cells), so binding another value re-runs the node.

    Raises:
        NodeFingerprintError: a function or bound value with no stable
            fingerprint (its source file cannot be found, or a bound object
            has no stable value).
    """
    return fingerprint(_describe_callable(func, 0))


def _describe_callable(func: Any, depth: int) -> list[Any]:
    if depth > _MAX_DEPTH:
        raise NodeFingerprintError(f"{func!r}: wrapped more than {_MAX_DEPTH} deep")
    if isinstance(func, functools.partial):
        return [
            "partial",
            _describe_callable(func.func, depth + 1),
            _describe_value(list(func.args), depth + 1),
            _describe_value(dict(func.keywords), depth + 1),
        ]
    if inspect.ismethod(func):
        return [
            "method",
            _describe_callable(func.__func__, depth + 1),
            _describe_bound_object(func.__self__, depth + 1),
        ]
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is not None and wrapped is not func:
        return ["wrapper", _describe_callable(wrapped, depth + 1)]
    if inspect.isfunction(func):
        closure = [
            _describe_bound_object(_cell_contents(cell), depth + 1)
            for cell in func.__closure__ or ()
        ]
        return [func.__module__, func.__qualname__, _source_digest(func), closure]
    if inspect.isbuiltin(func) or isinstance(func, type):
        # C functions change only with the interpreter; classes by their module
        source = _source_digest(func) if isinstance(func, type) else sys.version
        return [getattr(func, "__module__", None), func.__qualname__, source]
    if callable(func):  # an object with __call__: its class's method, bound
        return [
            "callable",
            _describe_callable(type(func).__call__, depth + 1),
            _describe_bound_object(func, depth + 1),
        ]
    raise NodeFingerprintError(f"{func!r} is not callable")


def _cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a cell not filled yet
        return None


def _source_digest(func: Any) -> str:
    try:
        source = inspect.getsourcefile(func)
    except TypeError:
        source = None
    if not source or not Path(source).is_file():
        raise NodeFingerprintError(
            f"{func!r}: no source file to fingerprint (defined in "
            f"{getattr(func, '__module__', '?')}); give the node a function "
            "defined in a module of the project"
        )
    module = getattr(func, "__module__", None) or ""
    if module.split(".")[0] == __package__:
        # the project modules it imports count too: an edit in core/ re-runs it
        return closure_digest(module)
    return _file_digest(Path(source))


def _describe_bound_object(obj: Any, depth: int) -> Any:
    """A bound method's object: by its value where it has a stable one, else by
    its class (code changes of the class still count)."""
    try:
        return _describe_value(obj, depth)
    except NodeFingerprintError:
        return ["instance of", _describe_callable(type(obj), depth)]


def _describe_value(value: Any, depth: int) -> Any:  # noqa: PLR0911 - one return per kind
    """A JSON-ready stand-in for a bound value; never a memory address."""
    if depth > _MAX_DEPTH:
        raise NodeFingerprintError(f"bound value nested more than {_MAX_DEPTH} deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return ["bytes", hashlib.sha256(value).hexdigest()]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_describe_value(v, depth + 1) for v in value]]
    if isinstance(value, (set, frozenset)):
        items = sorted(json.dumps(_describe_value(v, depth + 1)) for v in value)
        return ["set", items]
    if isinstance(value, dict):
        return [
            "dict",
            sorted(
                (
                    [repr(key), _describe_value(item, depth + 1)]
                    for key, item in value.items()
                ),
                key=lambda pair: pair[0],
            ),
        ]
    if isinstance(value, Path):
        return ["path", str(value)]
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):  # numpy arrays
        digest = hashlib.sha256(value.tobytes()).hexdigest()
        return ["array", str(value.dtype), list(value.shape), digest]
    if inspect.isroutine(value) or isinstance(value, (functools.partial, type)):
        return ["callable", _describe_callable(value, depth + 1)]
    if hasattr(value, "__dict__"):  # dataclasses, simple objects: their fields
        return [
            type(value).__module__,
            type(value).__qualname__,
            _describe_value(dict(vars(value)), depth + 1),
        ]
    text = repr(value)
    if " at 0x" in text:
        raise NodeFingerprintError(
            f"bound value {text} has no stable fingerprint (its repr is a memory "
            "address); bind plain values (numbers, strings, lists, dicts) instead"
        )
    return [type(value).__qualname__, text]


def node_code(node: Node) -> str:
    """Digest of the code the node runs (code changes re-run it)."""
    try:
        return code_fingerprint(node.func)
    except NodeFingerprintError as error:
        raise NodeFingerprintError(
            f"IncrementalRunner: cannot fingerprint the code of node {node.name!r}: "
            f"{error}"
        ) from error


def in_memory(dataset: Any) -> bool:
    """Data that lives in memory only (a ``MemoryDataset``): it has no file to
    fingerprint, and on a cluster it crosses workers as a task result."""
    return isinstance(dataset, MemoryDataset)

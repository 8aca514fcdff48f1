"""``IncrementalRunner``: re-run a node only when what it reads has changed.

``kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner``
runs the pipeline like ``SequentialRunner``, except that before each node it
computes a *signature* of everything the node reads -- parameter values, the
content of its input files (a sealed partition folder by its per-clip
fingerprints, a raw release folder by its files' names, sizes and times), the
source of the node's module -- and skips the node when the signature and the
fingerprints of its outputs are those recorded after its last successful run
(``data/09_run_stamps/<node>.json``). Nodes run in dependency order, so a
node whose input was just rewritten sees the new content.

Inside the per-clip stages (sampling, faces, embeddings, flow) a node that
does run recomputes only the clips whose fingerprint changed (see
``me_emotion.fingerprint``): ten percent more clips cost about ten percent
of a cold run there; training and reporting re-run whole when any input
changed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import SequentialRunner
from kedro.runner.task import Task

from me_emotion.datasets.sealed_partitions import SEAL_FILE
from me_emotion.fingerprint import fingerprint

logger = logging.getLogger(__name__)

DEFAULT_STAMPS = "data/09_run_stamps"
_UNKNOWN = "unknown"  # an input that cannot be fingerprinted: always re-run


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
        return _UNKNOWN
    if not path.exists() or getattr(dataset, "seal_problem", lambda: None)():
        return "absent"  # a folder that does not match its seal is not done
    if path.is_dir():
        seal = path / SEAL_FILE
        return _file_digest(seal) if seal.is_file() else _folder_listing(path)
    return _file_digest(path)


def _node_source(node: Node) -> str:
    """Digest of the source file of the node's function (code changes re-run it)."""
    try:
        source = inspect.getsourcefile(node.func)
    except TypeError:
        return _UNKNOWN
    return _file_digest(Path(source)) if source else _UNKNOWN


class IncrementalRunner(SequentialRunner):
    """``SequentialRunner`` that skips nodes whose inputs and outputs are unchanged.

    Args:
        is_async: load and save asynchronously (as ``SequentialRunner``).
        stamps: folder of the per-node records (``data/09_run_stamps``).
    """

    def __init__(self, is_async: bool = False, stamps: str = DEFAULT_STAMPS):
        super().__init__(is_async=is_async)
        self._stamps = Path(stamps)

    def _stamp_file(self, node: Node) -> Path:
        return self._stamps / f"{node.name.replace('/', '_')}.json"

    def _signature(self, node: Node, catalog: Any) -> dict[str, Any]:
        inputs = {name: dataset_fingerprint(name, catalog) for name in node.inputs}
        return {"code": _node_source(node), "inputs": inputs}

    def _outputs(self, node: Node, catalog: Any) -> dict[str, Any]:
        return {name: dataset_fingerprint(name, catalog) for name in node.outputs}

    def _up_to_date(self, node: Node, catalog: Any, signature: dict[str, Any]) -> bool:
        stamp_file = self._stamp_file(node)
        if not stamp_file.is_file() or _UNKNOWN in json.dumps(signature):
            return False
        stamp = json.loads(stamp_file.read_text())
        if stamp.get("signature") != signature:
            return False
        outputs = self._outputs(node, catalog)
        return _UNKNOWN not in outputs.values() and stamp.get("outputs") == outputs

    def _run(
        self,
        pipeline: Pipeline,
        catalog: Any,
        hook_manager: Any = None,
        run_id: str | None = None,
    ) -> None:
        self._validate_catalog(catalog)
        self._validate_nodes(pipeline.nodes)
        self._set_manager_datasets(catalog)
        self._stamps.mkdir(parents=True, exist_ok=True)
        done: set[Node] = set()
        skipped = 0
        for node in pipeline.nodes:  # topologically sorted
            signature = self._signature(node, catalog)
            if self._up_to_date(node, catalog, signature):
                skipped += 1
                logger.info("Skipped node (inputs unchanged): %s", node.name)
                continue
            self._stamp_file(node).unlink(missing_ok=True)  # stale until it succeeds
            start = time.perf_counter()
            try:
                Task(
                    node=node,
                    catalog=catalog,
                    hook_manager=hook_manager,
                    is_async=self._is_async,
                    run_id=run_id,
                ).execute()
            except Exception:
                self._suggest_resume_scenario(pipeline, done, catalog)
                raise
            done.add(node)
            self._stamp_file(node).write_text(
                json.dumps(
                    {
                        "node": node.name,
                        "signature": signature,
                        "outputs": self._outputs(node, catalog),
                    },
                    indent=1,
                )
            )
            logger.info(
                "Completed node: %s (%.1f s)", node.name, time.perf_counter() - start
            )
        logger.info(
            "IncrementalRunner: %d node(s) run, %d skipped as unchanged (%s)",
            len(done),
            skipped,
            self._stamps,
        )

"""Project hooks that make runs safe: checked configuration, a run lock, atomic saves.

``ProjectHooks`` (registered in ``settings.py``), once per ``kedro run``:

1. checks every parameter block and the globals against their schemas
   (``me_emotion.parameters``): a typo stops the run before any work, naming
   the key, the expected keys and the YAML file; so does a ``--params`` key
   that names no parameter;
2. logs which data roots the run reads, saying SYNTHETIC for the demo data;
3. takes a lock per dataset namespace the run writes
   (``data/.run_locks/<namespace>.lock``, an OS file lock released when the
   process ends, even killed): a second run writing the same namespace stops
   at once, naming the running one;
4. makes every single-file output atomic: the dataset writes to a hidden
   temporary name beside the target (``.<stem>.part<pid><suffix>``) that is
   renamed into place once complete, so an interrupted save never leaves a
   half-written file that ``--only-missing-outputs`` would take as done.
   Partitioned outputs are covered by their ``_SEALED`` marker instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path, PurePath
from typing import Any

import yaml
from kedro.config import OmegaConfigLoader
from kedro.framework.hooks import hook_impl
from kedro.io import DatasetError

from me_emotion.datasets.frame_tree import SYNTHETIC_MARKER
from me_emotion.parameters import (
    ParameterError,
    unknown_runtime_keys,
    validate_globals,
    validate_parameters,
)

try:
    import fcntl
except ImportError:  # Windows: runs are not locked
    fcntl = None

logger = logging.getLogger(__name__)

LOCK_FOLDER = Path("data") / ".run_locks"
DATA_ROOTS = ("casme2_root", "casme2_coding_file", "samm_root", "samm_coding_file")
_ATOMIC = "_me_emotion_atomic_save"


class RunLockedError(RuntimeError):
    """Another run is writing the same dataset namespace."""


def output_namespaces(dataset_names: set[str]) -> set[str]:
    """Namespaces of datasets (``casme2.face_crops`` -> ``casme2``; none -> ``project``)."""
    return {
        name.split(".", 1)[0] if "." in name else "project"
        for name in dataset_names
        if not name.startswith("params:") and name != "parameters"
    }


class RunLock:
    """Exclusive, non-blocking OS locks on ``<folder>/<namespace>.lock`` files."""

    def __init__(self, folder: Path):
        self._folder = folder
        self._held: list[Any] = []

    def acquire(self, namespaces: set[str], description: dict[str, Any]) -> None:
        """Lock every namespace or none; raise RunLockedError naming the holder."""
        if fcntl is None or not namespaces:
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        for namespace in sorted(namespaces):
            path = self._folder / f"{namespace}.lock"
            handle = open(path, "a+")  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "(no details)"
                handle.close()
                self.release()
                raise RunLockedError(
                    f"Another run is writing the '{namespace}' outputs: {holder}. "
                    f"Wait for it to finish (or stop it), then run again; two runs "
                    f"writing the same files would corrupt them (lock: {path})."
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(description))
            handle.flush()
            self._held.append(handle)

    def release(self) -> None:
        while self._held:
            handle = self._held.pop()
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def make_save_atomic(dataset: Any) -> bool:
    """Wrap a local single-file dataset's ``save`` to write a temporary file, then rename.

    Returns whether the dataset was wrapped (datasets without a local
    ``_filepath``, versioned ones and partitioned folders are left alone).
    """
    filepath = getattr(dataset, "_filepath", None)
    if (
        getattr(dataset, _ATOMIC, False)
        or not isinstance(filepath, PurePath)
        or getattr(dataset, "_protocol", "file") not in ("file", "local")
        or getattr(dataset, "_version", None) is not None
    ):
        return False
    save = dataset.save

    def atomic_save(data: Any) -> None:
        final = dataset._filepath
        temporary = final.with_name(f".{final.stem}.part{os.getpid()}{final.suffix}")
        Path(temporary).parent.mkdir(parents=True, exist_ok=True)
        dataset._filepath = type(final)(temporary)
        try:
            save(data)
            os.replace(temporary, final)
        except BaseException:
            if Path(temporary).is_dir():
                shutil.rmtree(temporary, ignore_errors=True)
            elif Path(temporary).exists():
                Path(temporary).unlink()
            raise
        finally:
            dataset._filepath = final

    dataset.save = atomic_save
    setattr(dataset, _ATOMIC, True)
    return True


def _conf_file(loader: Any, env: str, name: str) -> str:
    return str(Path(loader.conf_source) / env / name)


_RUNTIME_REFERENCE = re.compile(r"\$\{runtime_params:([\w.]+)")


def runtime_keys_read_by_config(conf_source: str, envs: list[str]) -> set[str]:
    """Runtime parameters the configuration files themselves read
    (``${runtime_params:video_out}`` in a catalog): not parameter typos."""
    keys: set[str] = set()
    for env in envs:
        for path in sorted((Path(conf_source) / env).rglob("*.yml")):
            keys.update(_RUNTIME_REFERENCE.findall(path.read_text()))
    return keys


def check_configuration(context: Any, runtime_params: dict[str, Any] | None) -> None:
    """Validate the parameters, ``--params`` keys and globals of a context."""
    loader = context.config_loader
    run_env = loader.env or loader.default_run_env
    without_runtime = OmegaConfigLoader(
        conf_source=loader.conf_source,
        env=loader.env,
        base_env=loader.base_env,
        default_run_env=loader.default_run_env,
        config_patterns=loader.config_patterns,
        merge_strategy=loader.merge_strategy,
    )
    without_schema = validate_parameters(context.params)
    if without_schema:
        logger.debug("parameter blocks without a schema: %s", without_schema)
    conf_params = without_runtime["parameters"]
    read_by_config = runtime_keys_read_by_config(
        loader.conf_source, [loader.base_env, run_env]
    )
    unknown = [
        key
        for key in unknown_runtime_keys(runtime_params or {}, conf_params)
        if not any(key == k or key.startswith(f"{k}.") for k in read_by_config)
    ]
    if unknown:
        raise ParameterError(
            f"--params {unknown}: no such parameter in {loader.conf_source}/ "
            f"(parameters_*.yml). Check the spelling, e.g. "
            f"`kedro run --params casme2.data_ingestion.class_set=all_labels`."
        )
    base_file = _conf_file(loader, loader.base_env, "globals.yml")
    base_keys = (
        set(yaml.safe_load(Path(base_file).read_text()) or {})
        if Path(base_file).is_file()
        else set()
    )
    validate_globals(
        loader["globals"],
        base_keys,
        base_file,
        _conf_file(loader, run_env, "globals.yml"),
    )


def describe_data_roots(globals_: dict[str, Any]) -> list[str]:
    """One line per data root: its path, and SYNTHETIC when it is the demo data."""
    lines = []
    for key in DATA_ROOTS:
        if key not in globals_:
            continue
        path = Path(str(globals_[key]))
        synthetic = any(
            (folder / SYNTHETIC_MARKER).is_file()
            for folder in (path, path.parent, path.parent.parent)
        )
        lines.append(
            f"{key} = {path}" + (" (SYNTHETIC demo data)" if synthetic else "")
        )
    return lines


class ProjectHooks:
    """Configuration checks, run lock and atomic saves for every run."""

    def __init__(self) -> None:
        self._context: Any = None
        self._locks: dict[str, RunLock] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._context = context

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        context = self._context
        if context is None:
            return
        check_configuration(context, run_params.get("runtime_params"))
        globals_ = context.config_loader["globals"]
        for line in describe_data_roots(globals_):
            logger.info("data root: %s", line)
        lock = RunLock(Path(context.project_path) / LOCK_FOLDER)
        lock.acquire(
            output_namespaces(set(pipeline.all_outputs())),
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(sys.argv),
                "pipelines": run_params.get("pipeline_names"),
            },
        )
        self._locks[run_params.get("session_id") or ""] = lock

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any) -> None:
        for name in node.outputs:
            try:
                dataset = catalog.get(name)
            except (DatasetError, KeyError):
                continue
            if dataset is not None:
                make_save_atomic(dataset)

    def _release(self, run_params: dict[str, Any]) -> None:
        lock = self._locks.pop(run_params.get("session_id") or "", None)
        if lock is not None:
            lock.release()

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self._release(run_params)

    @hook_impl
    def on_pipeline_error(self, run_params: dict[str, Any]) -> None:
        self._release(run_params)

"""Project runners: ``IncrementalRunner`` and ``DaskRunner``.

``IncrementalRunner``: re-run a node only when what it reads has changed.

``kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner``
runs the pipeline like ``SequentialRunner``, except that before each node it
computes a *signature* of everything the node reads -- parameter values, the
content of its input files (a sealed partition folder by its per-clip
fingerprints, a raw release folder by its files' names, sizes and times), the
node's code (``code_fingerprint``: its function's module and the project
modules that imports, see ``me_emotion.code_closure``, through partials,
wrappers and bound methods, and the values bound) -- and skips the node when the signature and the
fingerprints of its outputs are those recorded after its last successful run
(``data/09_run_stamps/<node>.json``). Nodes run in dependency order, so a
node whose input was just rewritten sees the new content. An in-memory
dataset between nodes counts by its producer's signature; a skipped producer
runs again only when a reader has to run.

Inside the per-clip stages (sampling, faces, embeddings, flow) a node that
does run recomputes only the clips whose fingerprint changed (see
``me_emotion.fingerprint``): ten percent more clips cost about ten percent
of a cold run there; training and reporting re-run whole when any input
changed.

``DaskRunner``: ``kedro run --pipelines=casme2 --runner=me_emotion.runner.DaskRunner``
runs every node as a task of a Dask distributed cluster (the scheduler given
by ``--runner-params address=tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``,
else a ``LocalCluster`` sized to the machine). See ``docs/scale-out.md``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import operator
import os
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import dask.sizeof
import distributed.comm.core
import distributed.utils_comm
import distributed.worker
import tornado.ioloop
from distributed import Client, LocalCluster, WorkerPlugin, as_completed
from kedro.framework import project
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.framework.project import configure_logging, configure_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner, SequentialRunner
from kedro.runner.task import Task

from me_emotion.code_closure import closure_digest
from me_emotion.datasets.sealed_partitions import SEAL_FILE
from me_emotion.fingerprint import fingerprint
from me_emotion.prefetch import worker_count

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


def _node_source(node: Node) -> str:
    """Digest of the code the node runs (code changes re-run it)."""
    try:
        return code_fingerprint(node.func)
    except NodeFingerprintError as error:
        raise NodeFingerprintError(
            f"IncrementalRunner: cannot fingerprint the code of node {node.name!r}: "
            f"{error}"
        ) from error


class IncrementalRunner(SequentialRunner):
    """``SequentialRunner`` that skips nodes whose inputs and outputs are unchanged.

    Args:
        is_async: load and save asynchronously (as ``SequentialRunner``).
        stamps: folder of the per-node records (``data/09_run_stamps``).
    """

    def __init__(self, is_async: bool = False, stamps: str = DEFAULT_STAMPS):
        super().__init__(is_async=is_async)
        self._stamps = Path(stamps)
        # in-memory datasets read by a later node -> their producer; such a
        # dataset is fingerprinted by its producer's signature and computed on
        # demand when its producer was skipped and a reader runs
        self._memory_producers: dict[str, Node] = {}
        self._signatures: dict[Node, dict[str, Any]] = {}

    def _stamp_file(self, node: Node) -> Path:
        return self._stamps / f"{node.name.replace('/', '_')}.json"

    def _fingerprint(self, name: str, catalog: Any) -> str | None:
        producer = self._memory_producers.get(name)
        if producer is not None:
            return fingerprint("in memory", name, self._signatures[producer])
        return dataset_fingerprint(name, catalog)

    def _signature(self, node: Node, catalog: Any) -> dict[str, Any]:
        inputs = {name: self._fingerprint(name, catalog) for name in node.inputs}
        return {"code": _node_source(node), "inputs": inputs}

    def _outputs(self, node: Node, catalog: Any) -> dict[str, Any]:
        return {name: self._fingerprint(name, catalog) for name in node.outputs}

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
        free_outputs = pipeline.outputs()
        self._memory_producers = {
            name: node
            for node in pipeline.nodes
            for name in node.outputs
            if name not in free_outputs
            and _is_in_graph(catalog.get(name, fallback_to_runtime_pattern=True))
        }
        self._signatures = {}
        done: set[Node] = set()

        def execute(node: Node) -> None:
            # a reader that runs needs its in-memory inputs: make the skipped ones
            for name in node.inputs:
                producer = self._memory_producers.get(name)
                if producer is not None and not catalog.exists(name):
                    logger.info("Running skipped node for its output %s", name)
                    execute(producer)
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
                        "signature": self._signatures[node],
                        "outputs": self._outputs(node, catalog),
                    },
                    indent=1,
                )
            )
            logger.info(
                "Completed node: %s (%.1f s)", node.name, time.perf_counter() - start
            )

        for node in pipeline.nodes:  # topologically sorted
            signature = self._signatures[node] = self._signature(node, catalog)
            if self._up_to_date(node, catalog, signature):
                logger.info("Skipped node (inputs unchanged): %s", node.name)
                continue
            execute(node)
        logger.info(
            "IncrementalRunner: %d node(s) run, %d skipped as unchanged (%s)",
            len(done),
            len(pipeline.nodes) - len(done),
            self._stamps,
        )


DASK_ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"


class SchedulerUnavailableError(RuntimeError):
    """No Dask scheduler (with workers) answers at the configured address."""


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def _is_in_graph(dataset: Any) -> bool:
    """Data that lives in memory only: it crosses workers through the cluster."""
    return isinstance(dataset, MemoryDataset)


def local_cluster(
    n_workers: int,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | int | None = "auto",
) -> LocalCluster:
    """A ``LocalCluster`` whose worker processes import this copy of the project.

    (``kedro run`` puts ``src/`` on the path of its own process only.)
    """
    source = str(Path(inspect.getfile(sys.modules[__package__])).parents[1])
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        memory_limit=memory_limit,
        dashboard_address=None,
        preload=[f"import sys; sys.path.insert(0, {source!r})"] if processes else [],
    )


class ProjectBootstrap(WorkerPlugin):
    """Makes a Dask worker a place where the project's nodes can run.

    On every worker (those there now and those that join later): the project
    settings (``configure_project``, hence the hooks of ``settings.py``), the
    project's logging configuration, and the project folder as working
    directory where the worker has it (a worker on another machine is started
    in its own copy of the project instead, see ``docs/scale-out.md``).
    """

    name = "me_emotion-project"

    def __init__(
        self,
        package_name: str,
        project_path: str,
        logging_config: dict[str, Any] | None,
        driver_pid: int,
    ):
        self.package_name = package_name
        self.project_path = project_path
        self.logging_config = logging_config
        self.driver_pid = driver_pid

    def setup(self, worker: Any) -> None:
        _own_randomness_for_the_cluster()
        configure_project(self.package_name)
        _WORKER_HOOKS.clear()  # built from the (re)configured settings on first use
        if os.getpid() == self.driver_pid:
            return  # a thread of the driver's process: already bootstrapped
        if self.logging_config:
            configure_logging(self.logging_config)
        if Path(self.project_path).is_dir():
            os.chdir(self.project_path)


def _own_randomness_for_the_cluster() -> None:
    """The cluster's machinery draws from generators of its own.

    Dask, distributed and tornado draw from Python's global ``random`` on
    their own threads (retry jitter, choosing a peer, sampling sizes) while a
    node runs. Keras' unseeded initializers draw their seeds from that same
    global generator after ``keras.utils.set_random_seed``, so a model built
    on a worker would differ from the sequential run's. With these modules on
    private generators a node sees the global state as in a sequential run.
    """
    for module in (
        tornado.ioloop,
        distributed.worker,
        distributed.utils_comm,
        distributed.comm.core,
        dask.sizeof,
    ):
        if getattr(module, "random", None) is random:
            module.random = random.Random()


_WORKER_HOOKS: dict[str, Any] = {}  # this worker process's hook manager


def _worker_hook_manager() -> Any:
    """The project's hooks in this worker process, registered once."""
    if "manager" not in _WORKER_HOOKS:
        manager = _create_hook_manager()
        _register_hooks(manager, project.settings.HOOKS)
        # kedro-viz's dataset statistics need the session's catalog hook,
        # which fires on the driver only: on a worker they would only warn
        _register_hooks_entry_points(
            manager, (*project.settings.DISABLE_HOOKS_FOR_PLUGINS, "kedro-viz")
        )
        _WORKER_HOOKS["manager"] = manager
    return _WORKER_HOOKS["manager"]


def _node_task(
    *upstream: Any,
    node: Node,
    datasets: dict[str, Any],
    values: dict[str, Any],
    upstream_names: list[str],
    copy_modes: dict[str, str | None],
    run_id: str | None,
    is_async: bool,
) -> dict[str, Any]:
    """Run ``node`` on a worker; return its in-memory outputs.

    ``datasets``: the node's persisted inputs and outputs (definitions only:
    they load and save through their own storage); ``values`` and
    ``upstream`` (the results of the producing tasks, named by
    ``upstream_names``): its in-memory inputs. The worker's catalog holds
    this node's datasets only.
    """
    catalog = DataCatalog(datasets=dict(datasets))
    for name, value in [*values.items(), *zip(upstream_names, upstream)]:
        catalog[name] = MemoryDataset(data=value, copy_mode=copy_modes.get(name))
    memory_outputs = [name for name in node.outputs if name not in datasets]
    for name in memory_outputs:
        catalog[name] = MemoryDataset(copy_mode="assign")  # copied where loaded
    Task(
        node=node,
        catalog=catalog,
        is_async=is_async,
        hook_manager=_worker_hook_manager(),
        run_id=run_id,
    ).execute()
    return {name: catalog.load(name) for name in memory_outputs}


class DaskRunner(AbstractRunner):
    """Runs each node as a task of a Dask distributed cluster.

    Nodes are submitted with their dependencies. Data between nodes goes
    through the catalog's persisted datasets (on a cluster of several
    machines: shared storage, fsspec URLs) or, for in-memory datasets,
    through the cluster's memory as task results, never through a copy of
    the catalog; each task receives only its node's dataset definitions.
    Inside a node, the per-clip maps of ``me_emotion.prefetch``
    (``prefetched``, ``map_tasks``) become tasks of the same cluster.
    The first failing node stops the run with its own exception.

    Args (``--runner-params key=value,...`` passes them as text):
        is_async: load and save a node's datasets on threads.
        address: the scheduler (``tcp://host:8786``); default
            ``DASK_SCHEDULER_ADDRESS``, else a new ``LocalCluster``.
        n_workers: ``LocalCluster`` worker processes (default: one per core).
        threads_per_worker: ``LocalCluster`` threads per worker (default 1).
        processes: ``LocalCluster`` workers as processes (default) or as
            threads of this process.
        memory_limit: ``LocalCluster`` memory per worker (default ``auto``:
            the machine's memory shared out).
        timeout: seconds to wait for the scheduler and its first worker.
    """

    def __init__(
        self,
        is_async: bool = False,
        *,
        address: str | None = None,
        n_workers: int | str | None = None,
        threads_per_worker: int | str = 1,
        processes: bool | str = True,
        memory_limit: str | int | None = "auto",
        timeout: float | str = 30,
    ):
        super().__init__(is_async=_truthy(is_async))
        self._address = address or os.environ.get(DASK_ADDRESS_VARIABLE) or None
        self._n_workers = int(n_workers) if n_workers else None
        self._threads_per_worker = int(threads_per_worker)
        self._processes = _truthy(processes)
        self._memory_limit = memory_limit
        self._timeout = float(timeout)

    def _get_executor(self, max_workers: int) -> None:
        """No local pool: ``_run`` submits the nodes to the cluster."""
        return None

    def _connect(self) -> tuple[Any, Any]:
        """``(client, local cluster or None)``; a clear error when there is none."""
        if self._address is None:
            cluster = local_cluster(
                n_workers=self._n_workers or worker_count(None),
                threads_per_worker=self._threads_per_worker,
                processes=self._processes,
                memory_limit=self._memory_limit,
            )
            client = Client(cluster, timeout=self._timeout)
            logger.info(
                "DaskRunner: LocalCluster with %d worker(s) x %d thread(s)",
                len(cluster.workers),
                self._threads_per_worker,
            )
            return client, cluster
        where = (
            f"{self._address} (--runner-params address=..., or {DASK_ADDRESS_VARIABLE})"
        )
        try:
            client = Client(self._address, timeout=self._timeout)
        except (OSError, ValueError, TypeError) as error:
            raise SchedulerUnavailableError(
                f"DaskRunner: no Dask scheduler answers at {where} within "
                f"{self._timeout:g} s ({error}). Start one with `dask scheduler` "
                "and workers with `dask worker <address>` in the project folder, "
                "fix the address, or leave it unset to run on a LocalCluster "
                "of this machine."
            ) from error
        try:
            client.wait_for_workers(1, timeout=self._timeout)
        except (TimeoutError, OSError) as error:
            client.close()
            raise SchedulerUnavailableError(
                f"DaskRunner: the Dask scheduler at {where} has no worker after "
                f"{self._timeout:g} s. Start `dask worker {self._address}` in the "
                "project folder of each machine (with the project installed)."
            ) from error
        logger.info(
            "DaskRunner: scheduler %s, %d worker(s)",
            self._address,
            len(client.scheduler_info()["workers"]),
        )
        return client, None

    def _run(
        self,
        pipeline: Pipeline,
        catalog: Any,
        hook_manager: Any = None,
        run_id: str | None = None,
    ) -> None:
        nodes = pipeline.nodes
        self._validate_catalog(catalog)
        self._validate_nodes(nodes)
        started = time.perf_counter()
        client, cluster = self._connect()
        try:
            client.register_plugin(
                ProjectBootstrap(
                    project.PACKAGE_NAME or __package__,
                    str(Path.cwd()),
                    dict(project.LOGGING) if project.LOGGING else None,
                    os.getpid(),
                ),
                name=ProjectBootstrap.name,
            )
            logger.info(
                "DaskRunner: cluster ready in %.1f s", time.perf_counter() - started
            )
            self._run_on(client, pipeline, catalog, run_id)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _run_on(
        self, client: Any, pipeline: Pipeline, catalog: Any, run_id: str | None
    ) -> None:
        nodes = pipeline.nodes
        producers = {name: node for node in nodes for name in node.outputs}
        in_graph = {
            name
            for name in pipeline.datasets()
            if _is_in_graph(catalog.get(name, fallback_to_runtime_pattern=True))
        }
        copy_modes = {
            name: getattr(catalog.get(name), "_copy_mode", None) for name in in_graph
        }
        # in-memory inputs no node makes (parameters): loaded here, sent along
        free_inputs = {
            name: catalog.load(name) for name in pipeline.inputs() if name in in_graph
        }
        token = run_id or uuid.uuid4().hex[:12]
        results: dict[str, Any] = {}  # in-memory dataset -> its future
        finished: dict[Node, Any] = {}  # node -> future of "it has run"
        tasks: dict[Any, Node] = {}
        readers = Counter(name for node in nodes for name in node.inputs)
        for node in nodes:  # topologically sorted: producers come first
            upstream_names = [
                name for name in node.inputs if name in in_graph and name in producers
            ]
            after = {
                producers[name]
                for name in node.inputs
                if name in producers and name not in in_graph
            }
            task = client.submit(
                _node_task,
                *[results[name] for name in upstream_names],
                *[_finished(client, finished, tasks, n, token) for n in after],
                node=node,
                datasets={
                    name: catalog.get(name)
                    for name in (*node.inputs, *node.outputs)
                    if name not in in_graph
                },
                values={
                    name: free_inputs[name]
                    for name in node.inputs
                    if name in free_inputs
                },
                upstream_names=upstream_names,
                copy_modes=copy_modes,
                run_id=run_id,
                is_async=self._is_async,
                key=f"kedro-node-{node.name}-{token}",
                pure=False,
                retries=0,
            )
            tasks[task] = node
            for name in node.outputs:
                if name in in_graph and (readers[name] or name in pipeline.outputs()):
                    # cut out where it is: a reader fetches only this item
                    results[name] = client.submit(
                        operator.getitem, task, name, key=f"{name}-{token}", pure=False
                    )
        self._wait(
            client, pipeline, catalog, tasks=tasks, results=results, readers=readers
        )
        finished.clear()
        for name in pipeline.outputs() & in_graph:
            catalog.save(name, results[name].result())

    def _wait(
        self,
        client: Any,
        pipeline: Pipeline,
        catalog: Any,
        *,
        tasks: dict[Any, Node],
        results: dict[str, Any],
        readers: Counter,
    ) -> None:
        """Wait for every node; the first failure is raised as its own error."""
        done_nodes: set[Node] = set()
        total = len(tasks)
        try:
            for future in as_completed(list(tasks)):
                node = tasks.pop(future)  # dropped: the cluster may free its result
                if future.status != "finished":
                    try:
                        future.result()  # raises the node's own exception
                    except Exception:
                        self._suggest_resume_scenario(pipeline, done_nodes, catalog)
                        raise
                done_nodes.add(node)
                self._logger.info("Completed node: %s", node.name)
                self._logger.info(
                    "Completed %d out of %d tasks", len(done_nodes), total
                )
                # an input every reader has read: let the cluster free it
                for name in node.inputs:
                    readers[name] -= 1
                    if readers[name] < 1 and name not in pipeline.outputs():
                        results.pop(name, None)
        finally:
            if tasks:  # a node failed: stop the rest
                client.cancel(list(tasks))


def _finished(
    client: Any,
    finished: dict[Node, Any],
    tasks: dict[Any, Node],
    node: Node,
    token: str,
) -> Any:
    """A future that completes when ``node`` has run (carries no data)."""
    if node not in finished:
        task = next(future for future, n in tasks.items() if n is node)
        finished[node] = client.submit(
            _nothing, task, key=f"kedro-done-{node.name}-{token}", pure=False
        )
    return finished[node]


def _nothing(_: Any) -> None:
    return None

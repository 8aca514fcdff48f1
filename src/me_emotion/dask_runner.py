"""``DaskRunner``: every node a task of a Dask distributed cluster.

``kedro run --pipelines=casme2 --runner=me_emotion.runner.DaskRunner`` (the
name stays importable from ``me_emotion.runner``); the scheduler is given by
``--runner-params address=tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``,
else a ``LocalCluster`` sized to the machine. See ``docs/scale-out.md``.
"""

from __future__ import annotations

import inspect
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
from kedro.runner import AbstractRunner
from kedro.runner.task import Task

from me_emotion.node_signature import in_memory
from me_emotion.prefetch import worker_count

logger = logging.getLogger(__name__)

DASK_ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"


class SchedulerUnavailableError(RuntimeError):
    """No Dask scheduler (with workers) answers at the configured address."""


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


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
            if in_memory(catalog.get(name, fallback_to_runtime_pattern=True))
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

"""Lazily-saved partitions computed ahead on a thread pool.

A node that returns ``{partition id: callable}`` lets ``PartitionedDataset``
call each callable just before writing its partition, so one partition at a
time is in memory, but on one core. ``prefetched`` keeps the next few
callables (in the sorted order the dataset saves them) running on a thread
pool while the current one is written: every core is used, and memory stays
bounded by ``ahead`` partitions. OpenCV and numpy release the GIL for the
heavy work (decoding, resizing, CLAHE), so threads run in parallel.

When the node runs as a task on a Dask worker (``me_emotion.runner.DaskRunner``)
the same maps go over the cluster instead: ``prefetched``'s partitions and
``map_tasks``' items become cluster tasks (results in the same order, a task's
exception raised as itself); without Dask nothing changes.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from queue import Empty, Queue
from typing import Any, TypeVar

import cloudpickle

from .fingerprint import Fingerprinted, fingerprint_of

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def cluster_client() -> Any | None:
    """The Dask client of the worker running this task, else None.

    None outside Dask, and in threads the task started itself (``--async``
    loading and saving): those keep the local thread pools.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:  # never imported: not a Dask worker
        return None
    try:
        distributed.get_worker()
    except ValueError:  # not inside a task running on a worker
        return None
    return distributed.get_client()


def cluster_threads(client: Any) -> int:
    """Task slots of the whole cluster (threads of every worker)."""
    return max(1, sum(client.nthreads().values()))


def waited_for(futures: Any, client: Any) -> Any:
    """``client.gather(futures)``, the worker's slot freed while waiting.

    A task that waits on other tasks leaves the worker's thread pool
    (``secede``) so they can run there too, even on a one-thread cluster.
    """
    distributed = sys.modules["distributed"]
    try:
        distributed.get_worker()
    except ValueError:  # a thread of the task's own (--async saving)
        return client.gather(futures)
    distributed.secede()
    try:
        return client.gather(futures)
    finally:
        distributed.rejoin()


def map_tasks(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[function(item) for item in items]``, one cluster task per item on Dask.

    Sequential outside a Dask worker. On a worker (the node runs under
    ``DaskRunner``) every item is a task of the cluster; ``function`` and the
    items must then pickle (cloudpickle: closures are fine). Results come in
    the order of ``items``; the first failing task's exception is raised as
    itself and the other tasks are cancelled.
    """
    items = list(items)
    client = cluster_client() if len(items) > 1 else None
    if client is None:
        return [function(item) for item in items]
    futures = client.map(partial(_pickled_result, function), items, pure=False)
    try:
        return [pickle.loads(result) for result in waited_for(futures, client)]
    finally:
        client.cancel(futures)


def parallel_map(
    function: Callable[[T], R], items: Iterable[T], workers: int
) -> list[R]:
    """``[function(item) for item in items]`` on ``workers`` threads, in order.

    On a Dask worker every item is a task of the whole cluster instead
    (:func:`map_tasks`; ``function`` and the items must then pickle). The
    per-clip stages use it for work that returns a value per clip (face boxes,
    flow maps) rather than a saved partition (see :func:`prefetched`).
    """
    items = list(items)
    if cluster_client() is not None:
        return map_tasks(function, items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="parallel_map") as pool:
        return list(pool.map(function, items))


def _pickled_result(function: Callable[[T], R], item: T) -> bytes:
    # Results cross the cluster as plain pickles: distributed's own Keras
    # serializer predates Keras 3 and fails on a fitted model (a fold's result).
    return pickle.dumps(function(item), protocol=pickle.HIGHEST_PROTOCOL)


def worker_count(workers: int | None) -> int:
    """``workers`` if set, else the cores this process may run on."""
    if workers:
        return int(workers)
    # sched_getaffinity: a container or taskset may allow fewer than os.cpu_count().
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _ThreadPool:
    """The partitions computed on local threads."""

    def __init__(self, makers: dict[str, Callable[[], T]], workers: int):
        self._makers = makers
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="prefetch")

    def submit(self, key: str) -> Future:
        return self._executor.submit(self._makers[key])

    def result(self, future: Future) -> T:
        return future.result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)


class _Pickled:
    """Makers pickled once, here; a worker process unpickles them once.

    (A worker in this process gets the object itself: ``makers``.)
    """

    def __init__(self, makers: dict[str, Callable[[], T]]):
        self.makers = makers
        self.blob = cloudpickle.dumps(makers)

    def __reduce__(self) -> tuple:
        return cloudpickle.loads, (self.blob,)


def _pickled(makers: dict[str, Callable[[], T]]) -> _Pickled | None:
    """``makers`` ready to send, or None (logged) when they do not pickle."""
    try:
        return _Pickled(makers)
    except Exception as error:  # noqa: BLE001 - any pickling failure: stay local
        logger.info(
            "partitions computed on local threads: their makers cannot be sent "
            "to the Dask cluster (%s)",
            error,
        )
        return None


def _make_partition(makers: dict[str, Callable[[], T]] | _Pickled, key: str) -> T:
    return getattr(makers, "makers", makers)[key]()


class _ClusterPool:
    """The partitions computed as tasks of a Dask cluster.

    The makers are sent once (one scattered object, however many partitions
    share their inputs); each task computes one partition by key.
    """

    def __init__(self, pickled: _Pickled, client: Any):
        self._pickled = pickled
        self._client = client
        self._shared: Any = None
        self._pending: set[Any] = set()

    def submit(self, key: str) -> Any:
        if self._shared is None:
            [self._shared] = self._client.scatter([self._pickled], hash=False)
        future = self._client.submit(_make_partition, self._shared, key, pure=False)
        self._pending.add(future)
        return future

    def result(self, future: Any) -> T:
        try:
            return waited_for(future, self._client)
        finally:
            self._pending.discard(future)

    def shutdown(self) -> None:
        if self._pending:
            self._client.cancel(list(self._pending))
        self._pending.clear()
        self._shared = None


class _Prefetcher:
    def __init__(
        self,
        makers: dict[str, Callable[[], T]],
        new_pool: Callable[[], _ThreadPool | _ClusterPool],
        ahead: int,
    ):
        self._makers = makers
        self._order = sorted(makers)
        self._position = {key: i for i, key in enumerate(self._order)}
        self._new_pool = new_pool
        self._ahead = ahead
        self._lock = threading.Lock()
        self._pool: _ThreadPool | _ClusterPool | None = None
        self._futures: dict[str, Any] = {}
        self._submitted = 0  # keys of _order[:_submitted] were handed to the pool

    def restrict(self, keys: set[str]) -> None:
        """Compute only ``keys`` (the ones the saver will call), in sorted order."""
        with self._lock:
            if self._submitted:
                raise RuntimeError("restrict() must come before the first result()")
            self._order = sorted(set(keys) & set(self._makers))
            self._position = {key: i for i, key in enumerate(self._order)}

    def _submit_through(self, position: int) -> None:
        while self._submitted <= min(position, len(self._order) - 1):
            key = self._order[self._submitted]
            self._futures[key] = self._pool.submit(key)
            self._submitted += 1

    def result(self, key: str) -> T:
        if key not in self._position:  # restricted away: compute it here
            return self._makers[key]()
        position = self._position[key]
        with self._lock:
            in_order = key in self._futures or position == self._submitted
            if in_order:
                if self._pool is None:
                    self._pool = self._new_pool()
                self._submit_through(position + self._ahead)
                future = self._futures.pop(key)
            last = position == len(self._order) - 1
        if not in_order:  # called out of save order, or twice: compute it here
            return self._makers[key]()
        try:
            return self._pool.result(future)
        finally:
            if last:
                self._pool.shutdown()


class PrefetchedPartitions(dict):
    """``{partition id: callable}`` computed ahead; ``restrict`` narrows the work."""

    def __init__(self, items: dict[str, Callable[[], T]], prefetcher: _Prefetcher):
        super().__init__(items)
        self._prefetcher = prefetcher

    def restrict(self, keys: set[str]) -> None:
        """Only ``keys`` will be called (the rest are up to date): prefetch those."""
        self._prefetcher.restrict(keys)


def prefetched(
    makers: dict[str, Callable[[], T]], workers: int, ahead: int | None = None
) -> dict[str, Callable[[], T]]:
    """The same ``{partition id: callable}``, computed ahead on ``workers`` threads.

    On a Dask worker (the node runs under ``DaskRunner``) the partitions are
    computed as tasks of the whole cluster instead, whatever ``workers`` says;
    the makers must then pickle.

    Args:
        makers: the lazily-saved partitions.
        workers: threads; 1 returns ``makers`` unchanged (outside Dask).
        ahead: partitions computed ahead of the one being saved (default
            ``2 * workers``, on Dask twice the cluster's threads); bounds the
            memory held.

    Returns:
        A dict with the same keys; calling a value returns what the original
        callable returns, or raises what it raised. Values keep the
        ``fingerprint`` of the original callables (``me_emotion.fingerprint``),
        and a saver that skips up-to-date partitions calls ``restrict`` first.
    """
    if len(makers) <= 1:
        return makers
    client = cluster_client()
    pickled = _pickled(makers) if client is not None else None
    if pickled is not None:
        threads = cluster_threads(client)
        logger.info(
            "%d partitions computed as tasks of the Dask cluster (%d threads)",
            len(makers),
            threads,
        )
        prefetcher = _Prefetcher(
            makers, partial(_ClusterPool, pickled, client), ahead or 2 * threads
        )
    elif workers <= 1:
        return makers
    else:
        prefetcher = _Prefetcher(
            makers, partial(_ThreadPool, makers, workers), ahead or 2 * workers
        )
    return PrefetchedPartitions(
        {
            key: Fingerprinted(partial(prefetcher.result, key), fingerprint_of(make))
            for key, make in makers.items()
        },
        prefetcher,
    )


def computed_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of ``items``, produced up to ``depth`` ahead on a thread.

    For a loop whose body (e.g. a network's forward pass) and whose producer
    (image preparation) both release the GIL: the two then overlap. An
    exception of the producer is raised where the item would have come.
    """
    done = object()
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(item)
        except BaseException as error:  # noqa: BLE001 - re-raised by the consumer
            queue.put(_Failure(error))
            return
        queue.put(done)

    thread = threading.Thread(target=produce, name="computed_ahead", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except Empty:
                thread.join(timeout=0.1)


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error

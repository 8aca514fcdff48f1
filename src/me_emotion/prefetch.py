"""Lazily-saved partitions computed ahead on a thread pool.

A node that returns ``{partition id: callable}`` lets ``PartitionedDataset``
call each callable just before writing its partition, so one partition at a
time is in memory, but on one core. ``prefetched`` keeps the next few
callables (in the sorted order the dataset saves them) running on a thread
pool while the current one is written: every core is used, and memory stays
bounded by ``ahead`` partitions. OpenCV and numpy release the GIL for the
heavy work (decoding, resizing, CLAHE), so threads run in parallel.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from queue import Empty, Queue
from typing import TypeVar

from .fingerprint import Fingerprinted, fingerprint_of

T = TypeVar("T")
R = TypeVar("R")


def worker_count(workers: int | None) -> int:
    """``workers`` if set, else the cores this process may run on."""
    if workers:
        return int(workers)
    # sched_getaffinity: a container or taskset may allow fewer than os.cpu_count().
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _Prefetcher:
    def __init__(self, makers: dict[str, Callable[[], T]], workers: int, ahead: int):
        self._makers = makers
        self._order = sorted(makers)
        self._position = {key: i for i, key in enumerate(self._order)}
        self._workers = workers
        self._ahead = ahead
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future] = {}
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
            self._futures[key] = self._pool.submit(self._makers[key])
            self._submitted += 1

    def result(self, key: str) -> T:
        if key not in self._position:  # restricted away: compute it here
            return self._makers[key]()
        position = self._position[key]
        with self._lock:
            in_order = key in self._futures or position == self._submitted
            if in_order:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        self._workers, thread_name_prefix="prefetch"
                    )
                self._submit_through(position + self._ahead)
                future = self._futures.pop(key)
            last = position == len(self._order) - 1
        if not in_order:  # called out of save order, or twice: compute it here
            return self._makers[key]()
        try:
            return future.result()
        finally:
            if last:
                self._pool.shutdown(wait=False)


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

    Args:
        makers: the lazily-saved partitions.
        workers: threads; 1 returns ``makers`` unchanged.
        ahead: partitions computed ahead of the one being saved (default
            ``2 * workers``); bounds the memory held.

    Returns:
        A dict with the same keys; calling a value returns what the original
        callable returns, or raises what it raised. Values keep the
        ``fingerprint`` of the original callables (``me_emotion.fingerprint``),
        and a saver that skips up-to-date partitions calls ``restrict`` first.
    """
    if workers <= 1 or len(makers) <= 1:
        return makers
    prefetcher = _Prefetcher(makers, workers, ahead or 2 * workers)
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


def map_tasks(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``function`` over ``items``, results in input order.

    The hook for task-level parallelism (one item = one fold, one clip shard):
    today plain sequential calls; a cluster-aware runner may spread them.
    """
    return [function(item) for item in items]

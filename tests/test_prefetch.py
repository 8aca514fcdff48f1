from __future__ import annotations

import threading
import time
from functools import partial

import pytest
from distributed import Client
from distributed.worker import thread_state

from me_emotion.prefetch import (
    computed_ahead,
    map_tasks,
    parallel_map,
    prefetched,
    worker_count,
)


class Makers:
    """Callables that record when they run and how many run at once."""

    def __init__(self, n: int, seconds: float = 0.0):
        self.started: list[str] = []
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()
        self.items = {
            f"clip{i:02d}": self._maker(f"clip{i:02d}", seconds) for i in range(n)
        }

    def _maker(self, key: str, seconds: float):
        def make() -> str:
            with self._lock:
                self.started.append(key)
                self.running += 1
                self.most_running = max(self.most_running, self.running)
            time.sleep(seconds)
            with self._lock:
                self.running -= 1
            return key.upper()

        return make


def test_results_in_save_order_computed_ahead_in_parallel():
    makers = Makers(12, seconds=0.02)
    lazy = prefetched(makers.items, workers=2, ahead=3)
    assert makers.started == []  # nothing runs before the first save
    assert [lazy[key]() for key in sorted(lazy)] == [k.upper() for k in sorted(lazy)]
    assert makers.most_running == 2
    assert sorted(makers.started) == sorted(makers.items)


def test_memory_stays_bounded_by_ahead():
    makers = Makers(20)
    lazy = prefetched(makers.items, workers=2, ahead=3)
    lazy["clip00"]()
    time.sleep(0.05)
    assert len(makers.started) <= 4  # the one asked for + 3 ahead


def test_out_of_order_or_repeated_calls_are_computed_directly():
    makers = Makers(6)
    lazy = prefetched(makers.items, workers=2)
    assert lazy["clip04"]() == "CLIP04"
    assert lazy["clip00"]() == "CLIP00"
    assert lazy["clip00"]() == "CLIP00"


def test_an_error_reaches_the_caller():
    def broken() -> str:
        raise ValueError("img7.jpg is truncated")

    lazy = prefetched({"a": broken, "b": lambda: "B"}, workers=2)
    with pytest.raises(ValueError, match="img7.jpg"):
        lazy["a"]()


def test_one_worker_changes_nothing():
    makers = Makers(3)
    assert prefetched(makers.items, workers=1) is makers.items


def test_worker_count_defaults_to_the_usable_cores():
    assert worker_count(3) == 3
    assert worker_count(None) >= 1


def test_computed_ahead_keeps_order_and_raises_the_producers_error():
    assert list(computed_ahead(iter(range(10)), depth=2)) == list(range(10))

    def failing():
        yield 1
        raise ValueError("bad clip sub01/EP01")

    items = computed_ahead(failing())
    assert next(items) == 1
    with pytest.raises(ValueError, match="sub01/EP01"):
        next(items)


def test_map_tasks_without_dask_is_a_plain_ordered_map():
    assert map_tasks(lambda x: x * 10, [3, 1, 2]) == [30, 10, 20]

    def failing(x: int) -> int:
        raise KeyError(f"fold {x}")

    with pytest.raises(KeyError, match="fold 1"):
        map_tasks(failing, [1, 2])


def test_parallel_map_keeps_order_on_threads_and_raises_an_item_error():
    names = parallel_map(
        lambda x: (x, threading.current_thread().name), range(8), workers=2
    )
    assert [x for x, _ in names] == list(range(8))
    assert all(name.startswith("parallel_map") for _, name in names)

    def failing(x: int) -> int:
        raise KeyError(f"clip {x}")

    with pytest.raises(KeyError, match="clip 3"):
        parallel_map(failing, [3], workers=2)


def _parallel_map_inside_a_task(items: list[int]) -> list[tuple[str, str]]:
    return parallel_map(partial(_square_key), items, workers=1)


def _square_key(x: int) -> tuple[str, str]:
    return _task_key(str(x * x))


@pytest.fixture(scope="module")
def dask_client():
    with Client(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as client:
        yield client


def _task_key(value: str) -> tuple[str, str]:
    """``value`` and the key of the cluster task computing it ('' outside one)."""
    return value, str(getattr(thread_state, "key", ""))


def _prefetch_inside_a_task(n: int) -> tuple[list, str]:
    makers = {f"clip{i:02d}": partial(_task_key, f"c{i}") for i in range(n)}
    lazy = prefetched(makers, workers=1)  # on a worker: the cluster, whatever workers
    return [lazy[key]() for key in sorted(lazy)], _task_key("")[1]


def test_on_a_dask_worker_prefetched_partitions_are_cluster_tasks(dask_client):
    results, outer = dask_client.submit(_prefetch_inside_a_task, 6).result()
    assert [value for value, _ in results] == [f"c{i}" for i in range(6)]
    keys = {key for _, key in results}
    assert len(keys) == 6 and outer not in keys and "" not in keys  # one task each


def _folds_inside_a_task(items: list[int]) -> list[tuple[str, str]]:
    def fold(x: int) -> tuple[str, str]:
        if x < 0:
            raise ValueError(f"fold {x} has no test subject")
        return _task_key(str(x * x))

    return map_tasks(fold, items)


def test_on_a_dask_worker_map_tasks_runs_each_item_as_a_task(dask_client):
    results = dask_client.submit(_folds_inside_a_task, [3, 1, 2, 5]).result()
    assert [value for value, _ in results] == ["9", "1", "4", "25"]  # input order
    assert len({key for _, key in results}) == 4
    with pytest.raises(ValueError, match="fold -1 has no test subject"):
        dask_client.submit(_folds_inside_a_task, [2, -1, 4]).result()


def test_on_a_dask_worker_parallel_map_runs_each_item_as_a_task(dask_client):
    results = dask_client.submit(_parallel_map_inside_a_task, [2, 3, 4]).result()
    assert [value for value, _ in results] == ["4", "9", "16"]
    assert len({key for _, key in results}) == 3 and "" not in {k for _, k in results}


class _Renderer:
    """Holds a lock: cannot be sent to another process."""

    def __init__(self):
        self._lock = threading.Lock()

    def frame(self, number: int) -> tuple[str, str]:
        with self._lock:
            return _task_key(f"f{number}")


def _prefetch_unpicklable_inside_a_task(n: int) -> list:
    renderer = _Renderer()
    makers = {f"f{i:02d}": partial(renderer.frame, i) for i in range(n)}
    lazy = prefetched(makers, workers=2)
    return [lazy[key]() for key in sorted(lazy)]


def test_makers_that_do_not_pickle_stay_on_local_threads(dask_client):
    results = dask_client.submit(_prefetch_unpicklable_inside_a_task, 4).result()
    assert results == [(f"f{i}", "") for i in range(4)]  # no cluster task ran them

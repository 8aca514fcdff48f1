"""Progress of a long per-clip loop as periodic log lines (done / total, rate)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ProgressLog:
    """Thread-safe counter that logs at most one line every ``every_s`` seconds.

    The last step always logs, so a run ends with its total time and rate.

    Args:
        what: what is counted, e.g. ``"casme2 detect_faces"``.
        total: number of clips expected.
        every_s: seconds between two progress lines.
        logger: where to log (default: this module's logger).
    """

    def __init__(
        self,
        what: str,
        total: int,
        every_s: float = 10.0,
        logger: logging.Logger | None = None,
    ):
        self._what = what
        self._total = total
        self._every_s = every_s
        self._logger = logger or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._done = 0
        self._start = time.perf_counter()
        self._last_log = self._start

    @property
    def done(self) -> int:
        return self._done

    def __getstate__(self) -> dict:
        """A copy sent to a Dask worker with a clip task: counts, never logs.

        Each worker would count only its own clips; the node's log says when
        the whole stage is done.
        """
        state = {k: v for k, v in self.__dict__.items() if k != "_lock"}
        state["_every_s"] = float("inf")
        state["_total"] = float("inf")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def counting(self, function: Callable[[T], R]) -> Callable[[T], R]:
        """``function``, counting a step after each call; picklable (Dask tasks)
        when ``function`` is."""
        return partial(_call_then_step, function, self)

    def step(self) -> None:
        """Count one clip done; log if it is the last or ``every_s`` has passed."""
        with self._lock:
            self._done += 1
            now = time.perf_counter()
            finished = self._done >= self._total
            if not finished and now - self._last_log < self._every_s:
                return
            self._last_log = now
            elapsed = max(now - self._start, 1e-9)
            rate = self._done / elapsed
            if finished:
                self._logger.info(
                    "%s: %d/%d clips in %.1f s (%.1f clips/s)",
                    self._what,
                    self._done,
                    self._total,
                    elapsed,
                    rate,
                )
            else:
                self._logger.info(
                    "%s: %d/%d clips, %.1f clips/s, about %.0f s left",
                    self._what,
                    self._done,
                    self._total,
                    rate,
                    (self._total - self._done) / rate,
                )


def _call_then_step(function: Callable[[T], R], progress: ProgressLog, item: T) -> R:
    result = function(item)
    progress.step()
    return result

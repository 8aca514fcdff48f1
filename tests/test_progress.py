from __future__ import annotations

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

from me_emotion.progress import ProgressLog


def test_logs_the_total_and_rate_once_when_steps_are_quick(caplog):
    progress = ProgressLog("casme2 detect_faces", total=40, every_s=3600)
    with caplog.at_level(logging.INFO), ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: progress.step(), range(40)))
    assert progress.done == 40
    assert len(caplog.records) == 1
    assert "casme2 detect_faces: 40/40 clips in" in caplog.text
    assert "clips/s" in caplog.text


def test_logs_periodic_lines_with_the_time_left(caplog):
    progress = ProgressLog("samm sample_frames", total=3, every_s=0)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            progress.step()
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0].startswith("samm sample_frames: 1/3 clips") and "s left" in lines[0]
    assert lines[-1].startswith("samm sample_frames: 3/3 clips in")


def test_a_copy_sent_to_a_dask_worker_pickles_and_stays_silent(caplog):
    progress = ProgressLog("casme2 sample_frames", total=1, every_s=0)
    copy = pickle.loads(pickle.dumps(progress))
    with caplog.at_level(logging.INFO):
        copy.step()  # the worker's copy: would log "1/1 clips" if it were the original
    assert copy.done == 1 and caplog.records == []
    progress.step()
    assert "1/1 clips in" in caplog.text


def test_counting_returns_the_results_and_counts_each_call(caplog):
    progress = ProgressLog("flow", 3, every_s=3600, logger=logging.getLogger("t"))
    square = progress.counting(abs)
    with caplog.at_level(logging.INFO, logger="t"):
        assert [square(x) for x in (-1, 2, -3)] == [1, 2, 3]
    assert "3/3 clips" in caplog.text  # the third call finished the count
    assert pickle.loads(pickle.dumps(square))(-4) == 4

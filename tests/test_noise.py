"""settings.py silences known dependency messages, and only those."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

from me_emotion.noise import DropMessages

RETRACING = (
    "5 out of the last 9 calls to <function TensorFlowTrainer.make_predict_function"
    ".<locals>.one_step_on_data_distributed at 0x7f> triggered tf.function "
    "retracing. Tracing is expensive and ..."
)


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord(
        "tensorflow", logging.WARNING, "f.py", 1, message, (), None
    )


def test_drop_messages_drops_only_matching_records():
    drop = DropMessages(r"triggered tf\.function retracing")
    assert not drop.filter(_record(RETRACING))
    assert drop.filter(_record("Skipping variable loading for optimizer"))


def test_settings_silence_the_composite_warning_and_retracing_but_nothing_else():
    """A fresh interpreter: project settings, then every registered pipeline built."""
    code = textwrap.dedent(
        f"""
        import logging, warnings
        import me_emotion.settings  # installs the filters
        from me_emotion.pipeline_registry import register_pipelines
        with warnings.catch_warnings(record=True) as caught:
            pipelines = register_pipelines()  # composite reads casme2.* / samm.*
            warnings.warn("a warning that stays", UserWarning)
        assert "composite" in pipelines
        print([str(w.message) for w in caught])
        logging.basicConfig(format="%(message)s")
        logging.getLogger("tensorflow").warning({RETRACING!r})
        logging.getLogger("tensorflow").warning("a TensorFlow warning that stays")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['a warning that stays']"
    assert "a TensorFlow warning that stays" in done.stderr
    assert "retracing" not in done.stderr

"""settings.py silences known dependency messages, and only those."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings

import plotly.tools as plotly_tools
import pytest

from me_emotion.noise import DropMessages, native_lines_kept, silence_dependency_noise

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


# ---- TensorFlow's C++ start-up lines (file descriptor 2) ------------------------

PREAMBLE = (
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR\n"
)
ONEDNN = (
    "I0000 00:00:1796407048.240738    6983 port.cc:153] oneDNN custom operations "
    "are on. You may see slightly different numerical results ...\n"
)
NO_DRIVER = (
    "I0000 00:00:1796407048.242183    6983 cudart_stub.cc:31] Could not find "
    "cuda drivers on your machine, GPU will not be used.\n"
)
CUINIT = (
    "E0000 00:00:1796407480.805065   12849 cuda_platform.cc:52] failed call to "
    "cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)
TSL_WARNING = (
    "2025-09-17 14:44:05.176998: W external/local_xla/xla/foo.cc:467] "
    "a TensorFlow warning\n"
)
OTHER_ERROR = "E0000 00:00:1796407480.9   12849 op_kernel.cc:1] a real error\n"
XNNPACK = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
OWN = "a line of the project\n"
START_UP = (
    PREAMBLE + ONEDNN + NO_DRIVER + CUINIT + TSL_WARNING + OTHER_ERROR + XNNPACK + OWN
)


def test_native_lines_follow_tf_cpp_min_log_level():
    # 2 (the default): INFO and WARNING lines go; errors stay unless they are
    # the CUDA probe of a machine without a driver.
    assert native_lines_kept(START_UP, 2) == OTHER_ERROR + OWN
    # 1: INFO goes, the warning stays.
    assert native_lines_kept(START_UP, 1) == TSL_WARNING + OTHER_ERROR + OWN
    # 0: everything, as TensorFlow prints it.
    assert native_lines_kept(START_UP, 0) == START_UP
    assert native_lines_kept(START_UP, 3) == OWN


def test_a_cuinit_failure_shows_where_tensorflow_found_a_driver():
    assert native_lines_kept(PREAMBLE + CUINIT + OWN, 2) == CUINIT + OWN


def test_the_cpu_instructions_notice_goes_with_its_second_line():
    notice = (
        "I0000 00:00:1796407692.134429   14673 cpu_feature_guard.cc:227] This "
        "TensorFlow binary is optimized to use available CPU instructions\n"
        "To enable the following instructions: AVX2 AVX512F FMA, in other "
        "operations, rebuild TensorFlow with the appropriate compiler flags.\n"
    )
    assert native_lines_kept(notice + OWN, 1) == OWN
    assert native_lines_kept("To enable the following instructions: x\n", 1) == (
        "To enable the following instructions: x\n"
    )


def test_known_warnings_are_dropped_by_module_and_message_only():
    """tf.lite's deprecation goes; the same text from the project stays."""
    text = (
        "    Warning: tf.lite.Interpreter is deprecated and is scheduled for deletion"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_dependency_noise()
        for module in ("tensorflow.lite.python.interpreter", "me_emotion.x"):
            warnings.warn_explicit(text, UserWarning, "f.py", 1, module=module)
    assert [str(w.message) for w in caught] == [text]


@pytest.mark.parametrize(
    "formatwarning",
    [
        lambda message, category, filename, lineno: (
            f"{filename}:{lineno}: {category.__name__}: {message}\n"
        ),
        plotly_tools.warning_on_one_line,
    ],
    ids=["python", "plotly"],  # importing plotly.tools installs its own format
)
def test_mlflow_type_hint_warning_is_dropped_where_warnings_are_logged(formatwarning):
    message = (
        "\x1b[33mAdd type hints to the `predict` method to enable data validation "
        "and automatic signature inference during model logging.\x1b[0m"
    )
    logged = logging.getLogger("py.warnings").filters
    silence_dependency_noise()

    def record(filename: str) -> logging.LogRecord:
        text = formatwarning(message, UserWarning, filename, 187)
        return logging.LogRecord(
            "py.warnings", logging.WARNING, "f.py", 1, "%s", (text,), None
        )

    mlflow_file = "/venv/site-packages/mlflow/pyfunc/utils/data_validation.py"
    own_file = "/work/src/me_emotion/pipelines/x.py"
    assert not all(f.filter(record(mlflow_file)) for f in logged)
    assert all(f.filter(record(own_file)) for f in logged)


@pytest.mark.integration  # a fresh interpreter imports TensorFlow
def test_importing_tensorflow_after_the_package_leaves_stderr_clean():
    """A user's shell: TF_CPP_MIN_LOG_LEVEL unset; TensorFlow loaded and its devices listed."""
    code = textwrap.dedent(
        """
        import sys
        import me_emotion
        import tensorflow as tf
        assert tf.__spec__.loader is tf.__loader__  # the real loader, as without the filter
        tf.config.list_physical_devices()
        tf.constant(1.0) + 1.0
        sys.stderr.write("own line\\n")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == "own line\n"

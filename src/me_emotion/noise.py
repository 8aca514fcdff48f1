"""Silence dependency messages that say nothing about the project or its data.

Two kinds, each dropped where it arises and matched one message at a time:

- Python warnings and log records of libraries (``WARNINGS``, ``LOG_RECORDS``),
  installed by :func:`silence_dependency_noise`, which ``settings.py`` calls
  once per process before any pipeline is built;
- lines that TensorFlow's C++ code writes straight to the process's stderr
  (file descriptor 2, out of Python's reach) while it loads and probes for a
  GPU: absl's preamble, the oneDNN notice, "Could not find cuda drivers",
  "failed call to cuInit". :func:`quiet_tensorflow_start_up`, called from the
  package's ``__init__`` (so before anything can import TensorFlow, in every
  entry point: ``kedro``, ``me-emotion-video``, ``python -m me_emotion``,
  Dask workers, notebooks), defaults ``TF_CPP_MIN_LOG_LEVEL`` to 2 and
  filters those lines out of the first ``import tensorflow``; the landmarks
  tracker filters TensorFlow Lite's "Created XNNPACK delegate" the same way
  (:func:`native_start_up_lines_dropped`). ``TF_CPP_MIN_LOG_LEVEL=0`` (set by
  the user) shows them all again.

Warnings of the project itself are never filtered.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

# (message regex, category, module regex): Python warnings dropped on every
# command. The message regex is matched at the start of the message, the module
# regex against the module the warning is attributed to ("" = any module).
WARNINGS = (
    # Kedro warns once per process when a node reads another namespace's dataset.
    # The composite pipeline does that by design (composite.casme2 reads
    # casme2.clip_index through Pipeline(inputs=...), Kedro's own way to join
    # namespaces; kedro-org/kedro#5021).
    (r"One or more dataset names contain '\.' characters", UserWarning, ""),
    # Kedro's config loader (and kedro-mlflow) call OmegaConf.register_new_resolver,
    # which omegaconf 2.4 deprecates.
    (r"register_new_resolver\(\) is deprecated", UserWarning, ""),
    # The landmarks tracker runs MediaPipe's .tflite models with
    # tf.lite.Interpreter (pipelines/video_analysis/landmarks.py), which
    # announces its move to the ai_edge_litert package on every interpreter.
    (
        r"\s*Warning: tf\.lite\.Interpreter is deprecated",
        UserWarning,
        r"tensorflow\.lite\.python\.interpreter",
    ),
)
# (logger, message regex): log records dropped.
LOG_RECORDS = (
    # kedro-mlflow (the `tracking` extra) defines a PythonModel without type
    # hints on predict(); MLflow warns (in colour) when the class is defined, on
    # every command. MLflow re-enables its UserWarnings around that check
    # (simplefilter("once") in mlflow.utils.annotations), so no warnings filter
    # reaches it: dropped where Kedro and me-emotion-video log warnings
    # (logging.captureWarnings), by file and message. plotly.tools replaces
    # warnings.formatwarning with "file:line: UserWarning:\n\nmessage", hence \s*.
    (
        "py.warnings",
        r"mlflow[/\\]pyfunc[/\\]\S+\.py:\d+: UserWarning:\s*(\x1b\[\d+m)?"
        r"Add type hints to the `predict` method",
    ),
    # Every fold trains a new Keras model whose first predict() traces its own
    # function, so TensorFlow's retracing warning is expected there.
    ("tensorflow", r"triggered tf\.function retracing"),
    # MLflow (the `tracking` extra) announces at INFO, through its own stderr
    # handler, that it creates or migrates its local database (mlruns/).
    (
        "mlflow.store.db.utils",
        r"^(Creating initial MLflow database tables|Updating database tables)",
    ),
)

TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
DEFAULT_TF_LOG_LEVEL = "2"  # TensorFlow's own meaning: 1 drops INFO, 2 WARNING too
# A line of absl / TensorFlow's C++ logging: "I0000 00:00:1796407048.240738
# 6983 port.cc:153] ..." (absl) or "2025-09-17 14:44:05.157831: I
# external/.../cudart_stub.cc:32] ..." (older tsl); the letter is the severity.
_NATIVE_LOG_LINE = re.compile(
    r"^(?:(?P<absl>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: (?P<tsl>[IWEF]) )\S+:\d+\] "
)
# TF_CPP_MIN_LOG_LEVEL 0..3 keeps the severities from that index on.
_SEVERITIES = "IWEF"
# absl's preamble before the first line logged ahead of absl::InitializeLog().
_ABSL_PREAMBLE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called"
)
# TensorFlow found no CUDA driver: then its later "cuInit failed" is a probe,
# not a problem (on a machine with a driver, a cuInit error still shows).
_NO_CUDA_DRIVER = re.compile(r"Could not find cuda drivers on your machine")
_CUINIT_FAILED = re.compile(r"failed call to cuInit")
# TensorFlow Lite's own logger: "INFO: Created TensorFlow Lite XNNPACK delegate
# for CPU." when an interpreter is made (landmarks tracker).
_TFLITE_INFO = re.compile(r"^INFO: ")
# The second line of TensorFlow's CPU-instructions notice (the first is a log line).
_CONTINUATION = re.compile(r"^To enable the following instructions: ")


class DropMessages(logging.Filter):
    """Drops the records whose message matches ``pattern``."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


def silence_dependency_noise() -> None:
    """Install the filters of ``WARNINGS`` and ``LOG_RECORDS`` (idempotent)."""
    quiet_tensorflow_start_up()
    for message, category, module in WARNINGS:
        warnings.filterwarnings(
            "ignore", message=message, category=category, module=module
        )
    for name, pattern in LOG_RECORDS:
        logger = logging.getLogger(name)
        if not any(
            isinstance(f, DropMessages) and f.pattern.pattern == pattern
            for f in logger.filters
        ):
            logger.addFilter(DropMessages(pattern))


def tf_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as TensorFlow reads it (0 when unset or not a number)."""
    try:
        return int(os.environ.get(TF_LOG_LEVEL, "0"))
    except ValueError:
        return 0


def native_lines_kept(text: str, level: int) -> str:
    """``text`` (C++ stderr output) without the start-up lines ``level`` hides.

    ``level`` is ``TF_CPP_MIN_LOG_LEVEL``'s meaning, applied to the lines that
    TensorFlow no longer filters itself (it writes them before absl's logging
    is initialised; tensorflow/tensorflow#100442): a log line is dropped when
    its severity (I, W, E, F) is below ``level``; absl's preamble and
    TensorFlow Lite's INFO lines at level >= 1;
    the failed CUDA initialisation at level >= 1 only when TensorFlow reported
    in the same text that there is no CUDA driver. Every other line is kept.
    """
    if level <= 0:
        return text
    no_driver = _NO_CUDA_DRIVER.search(text) is not None
    kept = []
    dropped_previous = False
    for line in text.splitlines(keepends=True):
        match = _NATIVE_LOG_LINE.match(line)
        if match:
            severity = match.group("absl") or match.group("tsl")
            drop = _SEVERITIES.index(severity) < level or (
                no_driver and _CUINIT_FAILED.search(line) is not None
            )
        elif _ABSL_PREAMBLE.match(line) or _TFLITE_INFO.match(line):
            drop = True
        else:
            drop = dropped_previous and _CONTINUATION.match(line) is not None
        dropped_previous = drop
        if not drop:
            kept.append(line)
    return "".join(kept)


_STDERR_LOCK = threading.Lock()


@contextmanager
def native_start_up_lines_dropped() -> Iterator[None]:
    """Filter what C++ code writes to stderr inside the block (``native_lines_kept``).

    File descriptor 2 points at a temporary file during the block; afterwards
    the lines that are not start-up noise are written to the real stderr, in
    their order (so nothing is lost, only delayed; Python's own writes in the
    block come through the same way). Does nothing where ``TF_CPP_MIN_LOG_LEVEL``
    is 0 or stderr has no file descriptor.
    """
    level = tf_log_level()
    if level <= 0 or not _STDERR_LOCK.acquire(blocking=False):
        yield  # shown as they come, or a block in another thread already filters
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor (closed, or an embedding host)
        _STDERR_LOCK.release()
        yield
        return
    try:
        with tempfile.TemporaryFile() as captured:
            _flush_stderr()
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                _flush_stderr()
                os.dup2(saved, 2)
                captured.seek(0)
                text = captured.read().decode("utf-8", errors="replace")
                kept = native_lines_kept(text, level)
                if kept:
                    os.write(2, kept.encode("utf-8"))
    finally:
        os.close(saved)
        _STDERR_LOCK.release()


def _flush_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed or detached stream
            pass


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's ``__init__`` with its C++ start-up lines dropped."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module sees its real loader, as if this one had never been there.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with native_start_up_lines_dropped():
            self.loader.exec_module(module)
            # TensorFlow probes for CUDA when it first lists its devices
            # (cheap; thread and device settings stay changeable afterwards):
            # done here, the probe's lines are filtered too.
            config = getattr(module, "config", None)
            if config is not None and hasattr(config, "list_physical_devices"):
                config.list_physical_devices()


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Hands ``import tensorflow`` (the first one) to :class:`_QuietLoader`."""

    MODULE = "tensorflow"

    def __init__(self) -> None:
        self._finding = False

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 - importlib's API
        if fullname != self.MODULE or self._finding:
            return None
        self._finding = True
        try:  # the spec the other finders give (this one steps aside meanwhile)
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        if (
            spec is None
            or spec.loader is None
            or not hasattr(spec.loader, "exec_module")
        ):
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_start_up() -> None:
    """Default ``TF_CPP_MIN_LOG_LEVEL`` to 2 and filter TensorFlow's import (idempotent).

    Acts only on a TensorFlow not imported yet: the package's ``__init__``
    calls it first thing.
    """
    os.environ.setdefault(TF_LOG_LEVEL, DEFAULT_TF_LOG_LEVEL)
    if _QuietTensorFlowFinder.MODULE in sys.modules:
        return
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())

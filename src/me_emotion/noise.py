"""Silence dependency messages that say nothing about the project or its data.

``settings.py`` calls :func:`silence_dependency_noise` once per process, before
any pipeline is built. Each filter matches one message, and says why here.
"""

from __future__ import annotations

import logging
import os
import re
import warnings

# (message regex, category): Python warnings dropped on every command.
WARNINGS = (
    # Kedro warns once per process when a node reads another namespace's dataset.
    # The composite pipeline does that by design (composite.casme2 reads
    # casme2.clip_index through Pipeline(inputs=...), Kedro's own way to join
    # namespaces; kedro-org/kedro#5021).
    (r"One or more dataset names contain '\.' characters", UserWarning),
    # Kedro's config loader (and kedro-mlflow) call OmegaConf.register_new_resolver,
    # which omegaconf 2.4 deprecates.
    (r"register_new_resolver\(\) is deprecated", UserWarning),
)
# (logger, message regex): log records dropped. Every fold trains a new Keras
# model whose first predict() traces its own function, so TensorFlow's
# retracing warning is expected there.
LOG_RECORDS = (("tensorflow", r"triggered tf\.function retracing"),)


class DropMessages(logging.Filter):
    """Drops the records whose message matches ``pattern``."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


def silence_dependency_noise() -> None:
    """Install the filters of ``WARNINGS`` and ``LOG_RECORDS`` (idempotent).

    Also defaults ``TF_CPP_MIN_LOG_LEVEL`` to 2 (as the scripts export it):
    TensorFlow's C++ start-up notices (CPU instruction sets) then stay quiet
    when ``kedro`` is run directly. It acts only before TensorFlow is imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for message, category in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, pattern in LOG_RECORDS:
        logger = logging.getLogger(name)
        if not any(
            isinstance(f, DropMessages) and f.pattern.pattern == pattern
            for f in logger.filters
        ):
            logger.addFilter(DropMessages(pattern))

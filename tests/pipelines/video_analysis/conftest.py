"""Fixtures shared by the video-analysis tests."""

from __future__ import annotations

import pytest

from tests.conftest import conf_parameters


@pytest.fixture(scope="module")
def params() -> dict:
    """The project's ``video.tracking`` block."""
    return conf_parameters("video", "video", "tracking")

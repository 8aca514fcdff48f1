"""Fixtures shared with the face-stage tests (a real face photograph)."""

from tests.pipelines.face_detection.conftest import face  # noqa: F401 - a fixture

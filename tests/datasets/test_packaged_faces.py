"""The face photographs shipped as package data: provenance, integrity, one face each."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import packaged_faces
from me_emotion.datasets.packaged_faces import (
    PHOTO_CREDITS,
    PHOTOGRAPHS,
    SHIPPED_DIR,
    shipped_photographs,
)

ROOT = Path(__file__).resolve().parents[2]
ROWS = shipped_photographs()


def test_manifest_sha256_matches_every_shipped_file():
    listed = {row["file"] for row in ROWS}
    assert listed == {p.name for p in SHIPPED_DIR.glob("*.jpg")}  # none unlisted
    for row in ROWS:
        data = (SHIPPED_DIR / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
        if row["processing"] == "copied":  # byte-identical to the Debian file
            assert row["sha256"] == row["original_sha256"], row["file"]


def test_at_least_ten_distinct_people_with_recorded_licences():
    names = [row["name"] for row in ROWS] + ["hopper", "astronaut"]
    subjects = [row["subject"] for row in ROWS] + ["Grace Hopper", "Eileen Collins"]
    assert len(set(names)) == len(names) == len(set(subjects)) >= 10
    assert set(PHOTOGRAPHS) == set(PHOTO_CREDITS) == set(names)
    for row in ROWS:
        assert row["licence"] and row["package"] and row["path"], row["name"]


def test_fetch_script_lists_the_manifest_sources():
    """scripts/fetch_face_photos.sh re-derives exactly these Debian originals."""
    script = (ROOT / "scripts" / "fetch_face_photos.sh").read_text()
    listed = set(
        re.findall(
            r"^([a-z0-9.+-]+)\|([^|\s]+)\|[^|\s]+\|([0-9a-f]{64})$", script, re.M
        )
    )
    assert listed == {(r["package"], r["path"], r["original_sha256"]) for r in ROWS}


@pytest.mark.parametrize("name", sorted(PHOTOGRAPHS))
def test_every_photograph_has_one_haar_face_plain_and_mirrored(name):
    """The renderer's cascade and settings (render.largest_face) find one face,
    so the largest box is the person and not a stray detection."""
    cascade = cv2.CascadeClassifier(
        cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    )
    gray = cv2.cvtColor(PHOTOGRAPHS[name](), cv2.COLOR_BGR2GRAY)
    for image in (gray, gray[:, ::-1].copy()):
        faces = cascade.detectMultiScale(
            image, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40)
        )
        assert len(faces) == 1, name
        assert faces[0][2] >= 90  # at most ~2.8x upscaling to a 250-px face


def test_altered_shipped_file_is_a_clear_error(tmp_path, monkeypatch):
    row = dict(ROWS[0])
    (tmp_path / row["file"]).write_bytes(b"not the photograph")
    monkeypatch.setattr(packaged_faces, "SHIPPED_DIR", tmp_path)
    with pytest.raises(DatasetError, match="missing or altered.*reinstall"):
        packaged_faces._shipped(row)

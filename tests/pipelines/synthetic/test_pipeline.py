"""The synthetic pipeline end to end on the tiny size (generated once per session)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from me_emotion.datasets import SpreadsheetGridDataset
from me_emotion.datasets.frame_tree import list_frame_tree
from me_emotion.pipelines.synthetic.nodes import (
    plan_release,
    subject_photo_table,
    subject_photos,
)
from tests.conftest import (
    conf_parameters,
    generate_synthetic,
    make_project_copy,
    run_pipeline,
)

LAYOUTS = ("casme2", "samm")


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_byte_identical_releases(tiny_release_dir, tmp_path):
    again = digests(generate_synthetic(make_project_copy(tmp_path / "again")))
    assert again == digests(tiny_release_dir)
    assert any(name.endswith(".xlsx") for name in again)
    assert sum(name.endswith(".jpg") for name in again) > 1000


def test_other_seed_gives_other_frames(tiny_release_dir, shared_params, release_params):
    shared = {**shared_params, "seed": shared_params["seed"] + 1}
    plan = plan_release(shared, release_params["casme2"])
    original = pd.read_parquet(tiny_release_dir / "casme2/clip_plan_SYNTHETIC.parquet")
    assert not plan["clip"].equals(original["clip"])


@pytest.fixture(scope="module")
def shared_params():
    return {**conf_parameters("synthetic", "synthetic"), "size": "tiny"}


@pytest.fixture(scope="module")
def release_params():
    return {
        layout: conf_parameters("synthetic", f"synthetic_{layout}", "release")
        for layout in LAYOUTS
    }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_release_is_labelled_synthetic(tiny_release_dir, layout):
    manifest = json.loads(
        (tiny_release_dir / layout / "SYNTHETIC_DATA.json").read_text()
    )
    assert manifest["synthetic"] is True and manifest["layout"] == layout
    assert "hopper" in manifest["photographs"]
    assert (
        list_frame_tree(tiny_release_dir / layout / "frames").synthetic_manifest
        == manifest
    )
    assert "SYNTHETIC" in (tiny_release_dir / layout / "coding_SYNTHETIC.xlsx").name


def test_casme2_sheet_layout(tiny_release_dir):
    grid = SpreadsheetGridDataset(
        str(tiny_release_dir / "casme2/coding_SYNTHETIC.xlsx")
    ).load()
    header = list(grid.iloc[0])
    assert (
        header[:2] == ["Subject", "Filename"]
        and pd.isna(header[2])
        and pd.isna(header[6])
    )
    assert header[3:6] == ["OnsetFrame", "ApexFrame", "OffsetFrame"]
    assert "/" in set(grid.iloc[1:, 4])  # the non-numeric apex quirk
    assert set(grid.iloc[1:, 8]) <= {
        "happiness",
        "disgust",
        "surprise",
        "repression",
        "others",
        "sadness",
        "fear",
    }


def test_samm_sheet_layout(tiny_release_dir):
    grid = SpreadsheetGridDataset(
        str(tiny_release_dir / "samm/coding_SYNTHETIC.xlsx")
    ).load()
    assert list(grid.iloc[13, :3]) == [
        "Subject",
        "Filename",
        "Inducement Code",
    ]  # row 14
    assert "SYNTHETIC" in grid.iloc[0, 0]
    assert all(len(str(s)) == 3 for s in grid.iloc[14:, 0])  # 006, 007...
    assert any(str(e)[0].isupper() for e in grid.iloc[14:, 9])


def test_samm_frame_names_use_four_or_five_digits(tiny_release_dir):
    frames = list_frame_tree(tiny_release_dir / "samm/frames").frames
    digits = frames["file"].str.extract(r"_(\d+)\.jpg$")[0].str.len()
    assert set(digits) <= {4, 5}
    assert frames["subject_dir"].str.fullmatch(r"\d{3}").all()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_plan_matches_sheet_and_frames(tiny_release_dir, layout):
    plan = pd.read_parquet(tiny_release_dir / layout / "clip_plan_SYNTHETIC.parquet")
    frames = list_frame_tree(tiny_release_dir / layout / "frames").frames
    per_clip = frames.groupby("clip_dir")["frame"].agg(["min", "max", "count"])
    for clip in plan.itertuples():
        assert per_clip.loc[clip.clip, "min"] == clip.first_frame
        assert per_clip.loc[clip.clip, "max"] == clip.last_frame
        assert (
            per_clip.loc[clip.clip, "count"] == clip.last_frame - clip.first_frame + 1
        )
        assert 40 <= clip.offset - clip.onset + 1 <= 52
        assert clip.onset < clip.apex < clip.offset
    assert plan["subject_id"].nunique() == 4 and len(plan) == 16


def test_frames_look_like_the_release(tiny_release_dir):
    casme2 = next((tiny_release_dir / "casme2/frames").rglob("*.jpg"))
    samm = next((tiny_release_dir / "samm/frames").rglob("*.jpg"))
    colour = cv2.imread(str(casme2), cv2.IMREAD_UNCHANGED)
    gray = cv2.imread(str(samm), cv2.IMREAD_UNCHANGED)
    assert colour.shape == (480, 640, 3) and colour.dtype == np.uint8
    assert gray.shape == (544, 1020)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_haar_cascade_finds_a_face_in_synthetic_frames(tiny_release_dir, layout):
    cascade = cv2.CascadeClassifier(
        cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    )
    paths = sorted((tiny_release_dir / layout / "frames").rglob("*.jpg"))[::4]
    found = 0
    for path in paths:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        faces = cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(80, 80)
        )
        found += len(faces) > 0
    assert found / len(paths) >= 0.95


def test_ingestion_reads_the_synthetic_releases(tiny_project):
    for layout in LAYOUTS:
        run_pipeline(tiny_project, layout, to_outputs=[f"{layout}.clip_index"])
        index = pd.read_parquet(
            tiny_project / f"data/02_intermediate/{layout}/clip_index.parquet"
        )
        rejects = pd.read_csv(
            tiny_project / f"data/02_intermediate/{layout}/ingestion_rejects.csv"
        )
        plan = pd.read_parquet(
            tiny_project / f"data/01_raw/synthetic/{layout}/clip_plan_SYNTHETIC.parquet"
        )
        assert rejects.empty and len(index) == len(plan)
        assert (index["source"] == "synthetic").all()
        merged = index.merge(plan, on="clip", suffixes=("", "_true"))
        assert (merged["onset"] == merged["onset_true"]).all()
        flagged = merged[merged["quirk"].str.contains("apex")]
        assert flagged["apex_imputed"].all() and len(flagged) >= 1
        clean = merged[merged["quirk"] == ""]
        assert (clean["apex"] == clean["apex_true"]).all() and not clean[
            "apex_imputed"
        ].any()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_manifest_names_each_subjects_photograph(tiny_release_dir, layout):
    manifest = json.loads(
        (tiny_release_dir / layout / "SYNTHETIC_DATA.json").read_text()
    )
    plan = pd.read_parquet(tiny_release_dir / layout / "clip_plan_SYNTHETIC.parquet")
    rows = manifest["subject_photos"]
    assert len(rows) == manifest["subjects"] == plan["subject_id"].nunique()
    # tiny: 4 subjects, the first 4 photographs of synthetic.photos, none mirrored
    assert [(r["photo"], r["mirror"]) for r in rows] == [
        ("hopper", False),
        ("astronaut", False),
        ("barkla", False),
        ("jesper", False),
    ]
    assert len({r["subject"] for r in rows}) == 4  # the layout's folder names
    assert manifest["people"] == 4 and manifest["one_person_per_subject"] is True
    # every clip of a subject shows that subject's person, in the sheet's folders too
    assert plan.groupby("subject_dir")["photo"].nunique().eq(1).all()
    assert set(manifest["photographs"]) == {"hopper", "astronaut", "barkla", "jesper"}


@pytest.mark.parametrize("size", ["tiny", "default"])
def test_demo_sizes_are_one_distinct_person_per_subject(
    shared_params, release_params, size
):
    """The shipped configuration: LOSO on tiny/default leaves a person out."""
    shared = {**shared_params, "size": size}
    assert shared["sizes"][size]["photo_reuse"] == "error"
    for release in release_params.values():
        plan = plan_release(shared, release)
        people = plan.groupby("subject_dir")["photo"].agg(["nunique", "first"])
        assert (people["nunique"] == 1).all()
        assert people["first"].is_unique  # no two subjects are one person
        assert len(people) == shared["sizes"][size]["subjects"]
        assert not plan["mirror"].any()


def _with_reuse(shared, reuse):
    """``shared`` with the chosen size's ``photo_reuse`` set (a per-size key)."""
    size = {**shared["sizes"][shared["size"]], "photo_reuse": reuse}
    return {**shared, "sizes": {**shared["sizes"], shared["size"]: size}}


def test_one_person_per_subject_when_photographs_suffice(shared_params, release_params):
    photos = ["p1", "p2", "p3", "p4", "p5"]
    shared = _with_reuse({**shared_params, "photos": photos}, "error")
    plan = plan_release(shared, release_params["casme2"])
    per_subject = plan.groupby("subject_dir")[["photo", "mirror"]].nunique()
    assert (per_subject == 1).all().all()  # a subject is one photograph throughout
    people = plan.groupby("subject_dir")["photo"].first()
    assert people.tolist() == ["p1", "p2", "p3", "p4"]  # 4 subjects, 4 people
    assert not plan["mirror"].any()
    table = subject_photo_table(plan)
    assert table["photo"].tolist() == ["p1", "p2", "p3", "p4"]
    assert table["subject"].tolist() == ["sub01", "sub02", "sub03", "sub04"]


def test_too_few_photographs_is_a_clear_error(shared_params, release_params):
    shared = _with_reuse({**shared_params, "photos": ["hopper", "astronaut"]}, "error")
    with pytest.raises(ValueError, match="4 subjects but 2 face photographs"):
        plan_release(shared, release_params["casme2"])


def test_photo_reuse_deals_plain_then_mirrored():
    assert subject_photos(5, ["a", "b"], "mirror") == [
        ("a", False),
        ("b", False),
        ("a", True),
        ("b", True),
        ("a", False),
    ]
    with pytest.raises(ValueError, match="distinct"):
        subject_photos(2, ["a", "a"], "mirror")
    with pytest.raises(ValueError, match="photo_reuse"):
        subject_photos(2, ["a", "b"], "copy")

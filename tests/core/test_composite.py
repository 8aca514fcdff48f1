"""The MEGC 2019 composite's clips and labels: from the list, else per-dataset class maps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from me_emotion.core.composite import composite_clip_labels, subject_key
from me_emotion.datasets import CompositeListDataset
from tests.conftest import PROJECT_ROOT

LIST_FILE = Path(__file__).parent / "data" / "megc2019_composite_list.csv"


@pytest.fixture(scope="module")
def labels_params() -> dict:
    conf = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/parameters_composite.yml").read_text()
    )
    return conf["composite"]["labels"]


def _index(dataset: str, rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["subject", "clip", "emotion"]).assign(
        dataset=dataset
    )


CASME2 = _index(
    "casme2",
    [
        ("sub01", "EP02_01f", "disgust"),
        ("sub01", "EP03_02", "happiness"),
        ("sub02", "EP19_05", "others"),  # the list says surprise: the list wins
        ("sub02", "EP01_01", "repression"),
        ("sub02", "EP05_01", "fear"),
        ("sub02", "EP06_01", "sadness"),
        ("sub03", "EP07_01", "surprise"),
    ],
)
SAMM = _index(
    "samm",
    [
        ("006", "006_1_2", "Anger"),
        ("006", "006_1_3", "Contempt"),
        ("006", "006_1_4", "Disgust"),
        ("007", "007_3_1", "Fear"),
        ("007", "007_3_2", "Sadness"),
        ("007", "007_3_3", "Happiness"),
        ("007", "007_3_4", "Surprise"),
        ("007", "007_3_5", "Other"),
    ],
)


def _labels(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    return dict(zip(zip(table["subject"], table["clip"]), table["label"]))


def test_class_maps_follow_megc_per_dataset(labels_params):
    labels, rejects = composite_clip_labels(
        {"casme2": CASME2, "samm": SAMM}, None, labels_params
    )
    assert rejects.empty
    assert set(labels["source"]) == {"class_map"}
    casme2 = _labels(labels[labels["dataset"] == "casme2"])
    assert casme2 == {
        ("sub01", "EP02_01f"): "negative",
        ("sub01", "EP03_02"): "positive",
        ("sub02", "EP01_01"): "negative",  # repression
        ("sub03", "EP07_01"): "surprise",
    }  # CASME-II fear, sadness and others are out
    samm = _labels(labels[labels["dataset"] == "samm"])
    assert samm == {
        ("006", "006_1_2"): "negative",
        ("006", "006_1_3"): "negative",
        ("006", "006_1_4"): "negative",  # SAMM disgust, fear, sadness are negative
        ("007", "007_3_1"): "negative",
        ("007", "007_3_2"): "negative",
        ("007", "007_3_3"): "positive",
        ("007", "007_3_4"): "surprise",
    }  # Other is out


def test_the_list_decides_membership_and_labels_exactly(labels_params):
    listed = CompositeListDataset(str(LIST_FILE)).load()
    labels, rejects = composite_clip_labels(
        {"casme2": CASME2, "samm": SAMM}, listed, labels_params
    )
    assert set(labels["source"]) == {"official_list"}
    assert _labels(labels) == {
        ("sub01", "EP02_01f"): "negative",
        ("sub01", "EP03_02"): "positive",
        ("sub02", "EP19_05"): "surprise",  # "others" in the sheet
        ("006", "006_1_2"): "negative",  # the list's unpadded 6 is folder 006
        ("007", "007_3_1"): "surprise",
    }
    missing = rejects[rejects["clip"] == "EP99_99"]
    assert len(missing) == 1
    assert "not in the casme2 release" in missing["reason"].iloc[0]
    assert missing["list_row"].iloc[0] == 4
    skipped = rejects[rejects["dataset"] == "smic"]
    assert sorted(skipped["clip"]) == ["s01_ne_01", "s02_po_03"]
    assert skipped["reason"].str.startswith("skipped").all()
    assert len(rejects) == 3


def test_bad_list_rows_are_rejected_not_dropped(labels_params):
    listed = pd.DataFrame(
        [
            ["casme2", "sub01", "EP02_01f", "0"],
            ["casme2", "sub01", "EP02_01f", "0"],
            ["CASME2", "1", "EP03_02", "happy"],
        ],
        columns=["dataset", "subject", "clip", "label"],
    )
    labels, rejects = composite_clip_labels({"casme2": CASME2}, listed, labels_params)
    assert len(labels) == 1
    assert sorted(rejects["reason"].str.split(":").str[0]) == [
        "label 'happy' is not 0, 1 or 2",
        "listed twice",
    ]


def test_a_dataset_the_list_lacks_falls_back_to_its_class_map(labels_params):
    listed = CompositeListDataset(str(LIST_FILE)).load()
    listed = listed[listed["dataset"] != "samm"]
    labels, _ = composite_clip_labels(
        {"casme2": CASME2, "samm": SAMM}, listed, labels_params
    )
    assert set(zip(labels["dataset"], labels["source"])) == {
        ("casme2", "official_list"),
        ("samm", "class_map"),
    }


def test_class_maps_are_checked(labels_params):
    bad = {"class_maps": {"casme2": {"disgust": "angry"}}}
    with pytest.raises(ValueError, match="angry"):
        composite_clip_labels({"casme2": CASME2}, None, bad)


@pytest.mark.parametrize(
    ("written", "key"), [("sub01", "1"), ("6", "6"), ("006", "6"), ("s01", "1")]
)
def test_subjects_match_whatever_their_padding(written, key):
    assert subject_key(written) == key

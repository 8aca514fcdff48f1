from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from me_emotion.datasets import SpreadsheetGridDataset
from me_emotion.datasets.frame_tree import list_frame_tree
from me_emotion.pipelines.data_ingestion.coding_sheet import (
    parse_action_units,
    parse_frame_number,
    subject_folder,
)
from me_emotion.pipelines.data_ingestion.nodes import build_clip_index
from tests.conftest import conf_parameters

from .releases import CASME2_HEADER, casme2_release, samm_release, write_grid


@pytest.fixture(scope="module")
def ingestion_params() -> dict:
    return conf_parameters("data_ingestion")


def params_for(all_params: dict, dataset: str, coding_file: Path, **overrides) -> dict:
    params = dict(all_params[dataset]["data_ingestion"])
    params.update(coding_file=str(coding_file), **overrides)
    return params


def ingest(root: Path, sheet: Path, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    grid = SpreadsheetGridDataset(str(sheet)).load()
    return build_clip_index(grid, list_frame_tree(root), params)


@pytest.fixture
def casme2(tmp_path, ingestion_params):
    root, sheet = casme2_release(tmp_path)
    return ingest(root, sheet, params_for(ingestion_params, "casme2", sheet))


@pytest.fixture
def samm(tmp_path, ingestion_params):
    root, sheet = samm_release(tmp_path)
    return ingest(root, sheet, params_for(ingestion_params, "samm", sheet))


class TestCasme2:
    def test_counts_kept_excluded_rejected(self, casme2):
        index, rejects = casme2
        assert len(index) == 4  # 6 rows: 1 missing folder, 1 with missing frames
        assert index["label"].isna().sum() == 1  # sadness is outside five_class
        assert len(rejects) == 2

    def test_reject_reasons_name_the_problem(self, casme2):
        _, rejects = casme2
        reasons = dict(zip(rejects["clip"], rejects["reason"]))
        assert (
            "not found" in reasons["EP05_01"] and "sub03/EP05_01" in reasons["EP05_01"]
        )
        assert (
            "2 frame(s) missing" in reasons["EP11_01"]
            and "35, 36" in reasons["EP11_01"]
        )
        assert set(rejects["sheet_row"]) == {6, 7}

    def test_non_numeric_apex_is_imputed_and_flagged(self, casme2):
        index, _ = casme2
        row = index.set_index("clip").loc["EP03_02"]
        assert row["apex"] == 15 and row["apex_imputed"]
        assert "'/'" in row["apex_note"]
        assert not index.set_index("clip").loc["EP02_01f", "apex_imputed"]

    def test_clip_fields(self, casme2):
        index, _ = casme2
        row = index.set_index("clip").loc["EP02_01f"]
        assert row["subject"] == "sub01"
        assert (row["onset"], row["apex"], row["offset"]) == (46, 59, 86)
        assert row["n_frames"] == 41
        assert list(row["frame_files"][:2]) == ["img46.jpg", "img47.jpg"]
        assert row["frame_files"][-1] == "img86.jpg"
        assert list(row["au_codes"]) == ["AU4", "AU7", "AU10"]
        assert row["action_units"] == "4+7+L10"
        assert row["source"] == "real" and row["dataset"] == "casme2"

    def test_cropped_layout_and_sheet_without_objective_classes(
        self, tmp_path, ingestion_params
    ):
        root, sheet = casme2_release(tmp_path, cropped=True, objective_classes=False)
        index, rejects = ingest(
            root, sheet, params_for(ingestion_params, "casme2", sheet)
        )
        assert len(index) == 4 and len(rejects) == 2
        assert index["frame_files"].iloc[0][0].startswith("reg_img")
        assert index["objective_class"].isna().all()

    def test_all_labels_class_set_keeps_sadness(self, tmp_path, ingestion_params):
        root, sheet = casme2_release(tmp_path)
        params = params_for(ingestion_params, "casme2", sheet, class_set="all_labels")
        index, _ = ingest(root, sheet, params)
        assert index["label"].notna().all()


class TestSamm:
    def test_header_found_below_preamble_and_subjects_normalised(self, samm):
        index, rejects = samm
        assert rejects.empty
        assert set(index["subject"]) == {"006", "007", "008"}
        assert index["sheet_row"].min() == 15  # header on row 14

    def test_apex_outside_onset_offset_is_clamped_and_flagged(self, samm):
        index = samm[0].set_index("clip")
        assert (
            index.loc["006_1_3", "apex"] == 3712
            and index.loc["006_1_3", "apex_imputed"]
        )
        assert "before onset" in index.loc["006_1_3", "apex_note"]
        assert (
            index.loc["007_3_1", "apex"] == 1002
            and "after offset" in index.loc["007_3_1", "apex_note"]
        )

    def test_four_and_five_digit_frame_names(self, samm):
        index = samm[0].set_index("clip")
        assert index.loc["007_3_1", "frame_files"][0] == "007_0980.jpg"
        assert index.loc["006_1_2", "frame_files"][0] == "006_05562.jpg"
        assert index.loc["008_2_1", "n_frames"] == 21

    def test_labels(self, samm):
        index = samm[0].set_index("clip")
        assert index.loc["007_5_2", "label"] == "other"  # 'Others' spelling
        assert index.loc["006_1_2", "label"] == "contempt"
        assert pd.isna(index.loc["008_2_1", "label"])  # Disgust not in five_class

    def test_au_or_and_unclear_markers(self, samm):
        index = samm[0].set_index("clip")
        assert list(index.loc["007_3_1", "au_codes"]) == ["AU12", "AU14"]
        assert list(index.loc["007_5_2", "au_codes"]) == ["AU1", "AU2"]

    def test_summary_is_logged(self, tmp_path, ingestion_params, caplog):
        root, sheet = samm_release(tmp_path)
        with caplog.at_level(logging.INFO):
            ingest(root, sheet, params_for(ingestion_params, "samm", sheet))
        assert "5 clips kept (4 in class set 'five_class', 1 outside it)" in caplog.text
        assert "1 relabelled, 2 apex imputed/clamped, 0 rejected" in caplog.text


class TestBadInput:
    def test_missing_required_column_names_column_and_file(
        self, tmp_path, ingestion_params
    ):
        root, _ = casme2_release(tmp_path)
        header = [c for c in CASME2_HEADER[:-1] if c != "ApexFrame"]
        rows = [
            header,
            [1, "EP02_01f", None, 46, 86, None, "4", "disgust"],
        ]
        sheet = write_grid(tmp_path / "broken.xlsx", rows)
        with pytest.raises(ValueError, match=r"'Apex Frame'.*") as error:
            ingest(root, sheet, params_for(ingestion_params, "casme2", sheet))
        assert str(sheet) in str(error.value)
        assert "casme2_coding_file" in str(error.value)

    def test_sheet_without_header_row(self, tmp_path, ingestion_params):
        root, _ = casme2_release(tmp_path)
        sheet = write_grid(tmp_path / "notes.xlsx", [["just some notes"], [1, 2, 3]])
        with pytest.raises(
            ValueError, match="no header row with 'Subject' and 'Filename'"
        ):
            ingest(root, sheet, params_for(ingestion_params, "casme2", sheet))

    def test_unknown_class_set(self, tmp_path, ingestion_params):
        root, sheet = casme2_release(tmp_path)
        with pytest.raises(ValueError, match="class_set 'three_class'"):
            ingest(
                root,
                sheet,
                params_for(ingestion_params, "casme2", sheet, class_set="three_class"),
            )

    def test_bad_frame_numbers_duplicates_and_reversed_span_are_rejected(
        self, tmp_path, ingestion_params
    ):
        root, _ = casme2_release(tmp_path)
        rows = [
            CASME2_HEADER[:-1],  # an older sheet: no Objective Classes
            [1, "EP02_01f", None, 46, 50, 86, None, "4", "disgust"],
            [1, "EP02_01f", None, 46, 50, 86, None, "4", "disgust"],  # duplicate row
            [
                1,
                "EP03_02",
                None,
                "n/a",
                12,
                20,
                None,
                "12",
                "happiness",
            ],  # onset not a number
            [
                2,
                "EP01_01",
                None,
                15,
                9,
                5,
                None,
                "1+2",
                "surprise",
            ],  # offset before onset
            [2, None, None, 15, 9, 5, None, "1+2", "surprise"],  # no Filename
        ]
        sheet = write_grid(tmp_path / "bad.xlsx", rows)
        index, rejects = ingest(
            root, sheet, params_for(ingestion_params, "casme2", sheet)
        )
        assert len(index) == 1
        reasons = rejects.set_index("sheet_row")["reason"]
        assert "duplicate of spreadsheet row 2" in reasons[3]
        assert "must both be frame numbers" in reasons[4]
        assert "offset 5 is before onset 15" in reasons[5]
        assert "empty Filename" in reasons[6]

    def test_two_files_with_one_frame_number_are_rejected(
        self, tmp_path, ingestion_params
    ):
        root, sheet = casme2_release(tmp_path)
        (root / "sub01" / "EP02_01f" / "reg_img50.jpg").write_bytes(b"")
        _, rejects = ingest(root, sheet, params_for(ingestion_params, "casme2", sheet))
        assert any("share frame number(s) [50]" in r for r in rejects["reason"])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (46, 46),
        (46.0, 46),
        ("46", 46),
        (" 46 ", 46),
        ("/", None),
        (None, None),
        (float("nan"), None),
        (46.5, None),
        ("", None),
        (True, None),
    ],
)
def test_parse_frame_number(cell, expected):
    assert parse_frame_number(cell) == expected


@pytest.mark.parametrize(
    ("cell", "codes", "unparsed"),
    [
        ("4+7+L10", ["AU4", "AU7", "AU10"], []),
        ("R12", ["AU12"], []),
        ("1+2", ["AU1", "AU2"], []),
        ("12/14", ["AU12", "AU14"], []),
        ("1+2?", ["AU1", "AU2"], []),
        (12, ["AU12"], []),
        (12.0, ["AU12"], []),
        ("AU4 + AU7", ["AU4", "AU7"], []),
        ("4+blink", ["AU4"], ["BLINK"]),
        (None, [], []),
    ],
)
def test_parse_action_units(cell, codes, unparsed):
    assert parse_action_units(cell) == (codes, unparsed)


@pytest.mark.parametrize(
    ("cell", "fmt", "folder"),
    [
        (6, "{subject:03d}", "006"),
        ("006", "{subject:03d}", "006"),
        (6.0, "{subject:03d}", "006"),
        (1, "sub{subject:02d}", "sub01"),
        ("sub01", "sub{subject:02d}", "sub01"),
    ],
)
def test_subject_folder(cell, fmt, folder):
    assert subject_folder(cell, fmt) == folder

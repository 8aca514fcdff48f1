"""Fold tables: LOSO never shares a subject; the paper's random split leaks clips."""

from __future__ import annotations

import numpy as np
import pytest

from me_emotion.pipelines.training.inputs import join_inputs
from me_emotion.pipelines.training.protocols import build_folds, iter_folds

from .conftest import make_inputs


def _subjects(inputs, fold, role_samples, level="frame"):
    clips = inputs.sample_clip[role_samples] if level == "frame" else role_samples
    return set(inputs.clip_subject[clips].tolist())


def test_loso_folds_never_share_a_subject(inputs, params):
    folds = build_folds(inputs, params)
    loso = [f for f in iter_folds(folds, "frame") if f.protocol == "loso"]
    assert len(loso) == 4  # one per subject
    tested = []
    for fold in loso:
        test_subjects = _subjects(inputs, fold, fold.test)
        assert test_subjects == {fold.name}
        assert not test_subjects & _subjects(inputs, fold, fold.train)
        assert (inputs.sample_aug_id[fold.test] == 0).all()  # originals only
        # augmented variants come from training subjects only
        assert (
            not set(np.flatnonzero(inputs.sample_aug_id > 0))
            - set(fold.train)
            - set(np.flatnonzero(np.isin(inputs.sample_subject, list(test_subjects))))
        )
        tested += inputs.sample_clip[fold.test].tolist()
    assert sorted(set(tested)) == list(
        range(len(inputs.clip_y))
    )  # every clip tested once
    for fold in (f for f in iter_folds(folds, "clip") if f.protocol == "loso"):
        assert not _subjects(inputs, fold, fold.test, "clip") & _subjects(
            inputs, fold, fold.train, "clip"
        )


def test_paper_random_split_puts_frames_of_one_clip_on_both_sides(inputs, params):
    """The method's split is over frames: the leakage this protocol documents."""
    folds = build_folds(inputs, params)
    (split,) = [
        f for f in iter_folds(folds, "frame") if f.protocol == "paper_random_split"
    ]
    train_clips = set(inputs.sample_clip[split.train].tolist())
    test_clips = set(inputs.sample_clip[split.test].tolist())
    assert train_clips & test_clips  # shared clips: leakage
    assert _subjects(inputs, split, split.train) & _subjects(inputs, split, split.test)
    share = len(split.test) / (len(split.train) + len(split.test))
    assert share == pytest.approx(0.3, abs=0.02)
    # stratified: each class keeps its share on the test side
    counts = np.bincount(inputs.sample_y[split.test])
    assert np.all(np.abs(counts - 0.3 * np.bincount(inputs.sample_y)) <= 1)


def test_final_fold_trains_on_every_subject(inputs, params):
    folds = build_folds(inputs, params)
    final = [f for f in iter_folds(folds, "frame")][-1]
    assert final.protocol == "final"
    assert len(final.train) == len(inputs.sample_clip) and not len(final.test)


def test_validation_subjects_come_from_training_subjects(inputs, params):
    params["early_stopping"] = {
        **params["early_stopping"],
        "enabled": True,
        "validation_subjects": 1,
    }
    folds = build_folds(inputs, params)
    for fold in iter_folds(folds, "frame"):
        validation = _subjects(inputs, fold, fold.validation)
        if fold.protocol in ("loso", "final"):
            assert len(validation) == 1
            assert not validation & _subjects(inputs, fold, fold.train)
            assert not validation & _subjects(inputs, fold, fold.test)
        assert not set(fold.validation) & set(fold.test)
        assert not set(fold.validation) & set(fold.train)


def test_a_held_out_subject_without_a_class_is_a_normal_fold(params):
    inputs = make_inputs(
        {
            "s0": ["negative", "positive"],
            "s1": ["negative", "positive", "surprise"],
            "s2": ["positive", "surprise"],
        }
    )
    folds = build_folds(inputs, params)
    assert {f.name for f in iter_folds(folds, "frame") if f.protocol == "loso"} == {
        "s0",
        "s1",
        "s2",
    }


def test_protocol_choice_is_checked(inputs, params):
    with pytest.raises(ValueError, match="unknown"):
        build_folds(inputs, {**params, "protocols": ["kfold"]})
    with pytest.raises(ValueError, match="several datasets"):
        build_folds(inputs, {**params, "protocols": ["composite"]})
    with pytest.raises(ValueError, match="at least 2 subjects"):
        build_folds(
            make_inputs({"s0": ["negative", "positive", "surprise"]}),
            {**params, "protocols": ["loso"]},
        )


def test_composite_is_loso_over_dataset_prefixed_subjects(params):
    joined = join_inputs(
        {
            "casme2": make_inputs(
                {
                    "sub01": ["negative", "positive", "surprise"],
                    "sub02": ["negative", "positive", "surprise"],
                }
            ),
            "samm": make_inputs(
                {"sub01": ["negative", "positive", "surprise"]}, dataset="samm"
            ),
        }
    )
    folds = build_folds(joined, {**params, "protocols": ["composite"]})
    names = {f.name for f in iter_folds(folds, "clip") if f.protocol == "composite"}
    assert names == {
        "casme2/sub01",
        "casme2/sub02",
        "samm/sub01",
    }  # sub01 twice, never merged


def _three_datasets():
    clips = ["negative", "positive", "surprise"]
    return join_inputs(
        {
            "casme2": make_inputs({"sub01": clips, "sub02": clips}),
            "samm": make_inputs({"006": clips, "007": clips}, dataset="samm"),
            "smic": make_inputs({"s01": clips, "s02": clips}, dataset="smic"),
        }
    )


def test_cross_dataset_trains_on_one_dataset_and_tests_on_another(params):
    joined = _three_datasets()
    folds = build_folds(joined, {**params, "protocols": ["cross_dataset"]})
    for level in ("frame", "clip"):
        transfer = [
            f for f in iter_folds(folds, level) if f.protocol == "cross_dataset"
        ]
        assert len(transfer) == 6  # every ordered pair of 3 datasets
        for fold in transfer:
            train, _, test = fold.name.partition("_to_")
            clips_of = (
                (lambda s: joined.sample_clip[s]) if level == "frame" else (lambda s: s)
            )
            assert set(joined.clip_dataset[clips_of(fold.train)]) == {train}
            assert set(joined.clip_dataset[clips_of(fold.test)]) == {test}
            # all of it: every clip of the test dataset, originals only
            assert set(clips_of(fold.test)) == set(
                np.flatnonzero(joined.clip_dataset == test)
            )
            if level == "frame":
                assert (joined.sample_aug_id[fold.test] == 0).all()


def test_cross_dataset_validation_subjects_come_from_the_training_dataset(params):
    joined = _three_datasets()
    stopping = {**params["early_stopping"], "enabled": True, "validation_subjects": 1}
    folds = build_folds(
        joined,
        {**params, "protocols": ["cross_dataset"], "early_stopping": stopping},
    )
    for fold in iter_folds(folds, "clip"):
        if fold.protocol == "cross_dataset":
            train = fold.name.partition("_to_")[0]
            assert set(joined.clip_dataset[fold.validation]) == {train}
            assert len(set(joined.clip_subject[fold.validation])) == 1


def test_cross_dataset_needs_several_datasets(inputs, params):
    with pytest.raises(ValueError, match="cross_dataset protocol needs several"):
        build_folds(inputs, {**params, "protocols": ["cross_dataset"]})

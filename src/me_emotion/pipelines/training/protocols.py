"""Evaluation protocols as fold tables: which samples train, validate and test.

A fold table has one row per (protocol, fold, level, sample) with a ``role``
(``train``, ``validation`` or ``test``); samples absent from a fold are unused
by it. ``level`` is ``frame`` (rows of the frame-sample arrays: the embeddings,
images, AUs) or ``clip`` (the clip arrays: the flow baseline's one sample per
clip). Protocols:

- ``paper_random_split``: the method's random split over frames (70/30,
  stratified by class, seeded), augmented variants included on both sides, as
  the method splits its augmented image set. Frames of one clip land in both
  training and test: this is the leakage the protocol documents. The flow
  baseline has one sample per clip, so its random split is over clips.
- ``loso``: leave-one-subject-out over clips (scikit-learn ``LeaveOneGroupOut``,
  subject groups). Training uses every ``aug_id`` of the training subjects'
  clips; the held-out subject is tested on its original frames only.
- ``composite``: ``loso`` over several datasets joined (subjects carry their
  dataset's prefix): the MEGC 2019 composite evaluation (its CASME-II + SAMM
  part, 3 classes); only in the ``composite`` pipeline, whose inputs span
  several datasets.
- ``cross_dataset``: transfer between datasets: one fold per ordered pair,
  named ``<train>_to_<test>`` (``casme2_to_samm``, ``samm_to_casme2``), that
  trains on every clip of one dataset and tests on every original frame of
  the other; clips of any third dataset are unused. Composite pipeline only.
- ``final`` (always added): every subject trains the model saved for inference.

With early stopping enabled, the validation samples are carved out of the
training side only: whole subjects (``loso``, ``final``) or a stratified share
of the training frames (``paper_random_split``), original frames only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    LeaveOneGroupOut,
    ShuffleSplit,
    StratifiedShuffleSplit,
)

from .inputs import ModelInputs

logger = logging.getLogger(__name__)

RANDOM_SPLIT = "paper_random_split"
PROTOCOLS = (RANDOM_SPLIT, "loso", "composite", "cross_dataset")
CROSS_DATASET = "cross_dataset"
FINAL = "final"
FINAL_FOLD = "all_subjects"
RANDOM_FOLD = "random_split"
FOLD_COLUMNS = ["protocol", "fold", "level", "sample", "role"]
LEVELS = ("frame", "clip")


@dataclass(frozen=True)
class Fold:
    """Sample indices of one fold at one level."""

    protocol: str
    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def _split(
    y: np.ndarray, test_size: float, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified ``(train, test)`` indices; unstratified where a class is too small."""
    index = np.arange(len(y))
    try:
        splitter = StratifiedShuffleSplit(
            n_splits=1, test_size=test_size, random_state=seed
        )
        return next(splitter.split(index, y))
    except (
        ValueError
    ) as error:  # a class with one sample, or fewer test rows than classes
        logger.warning(
            "%s: cannot stratify (%s); splitting at random instead", what, error
        )
        splitter = ShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        return next(splitter.split(index))


def _rows(
    protocol: str, fold: str, level: str, samples: np.ndarray, role: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "protocol": protocol,
            "fold": fold,
            "level": level,
            "sample": np.asarray(samples, dtype=np.int64),
            "role": role,
        }
    )


def _validation_subjects(
    subjects: np.ndarray, k: int, seed: int, fold_number: int
) -> np.ndarray:
    candidates = np.unique(subjects)
    if k >= len(candidates):
        raise ValueError(
            f"early_stopping.validation_subjects={k} leaves no training subject out of "
            f"{len(candidates)}; lower it or disable early stopping"
        )
    rng = np.random.default_rng([seed, fold_number])
    return rng.choice(candidates, size=k, replace=False)


def _subject_fold(
    inputs: ModelInputs,
    protocol: str,
    fold: str,
    test_subjects: set[str],
    validation_subjects: set[str],
    *,
    unused_subjects: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Frame and clip rows of a fold defined by subjects (``unused_subjects``: in no role)."""
    clip_subject = inputs.clip_subject
    clip_role = np.where(
        np.isin(clip_subject, list(test_subjects)),
        "test",
        np.where(
            np.isin(clip_subject, list(validation_subjects)),
            "validation",
            np.where(np.isin(clip_subject, list(unused_subjects)), "unused", "train"),
        ),
    )
    sample_role = clip_role[inputs.sample_clip]
    original = inputs.sample_aug_id == 0
    keep = (sample_role == "train") | original  # held-out sides see originals only
    tables = [
        _rows(
            protocol, fold, "frame", np.flatnonzero(keep & (sample_role == role)), role
        )
        for role in ("train", "validation", "test")
    ] + [
        _rows(protocol, fold, "clip", np.flatnonzero(clip_role == role), role)
        for role in ("train", "validation", "test")
    ]
    return pd.concat(tables, ignore_index=True)


def loso_folds(
    inputs: ModelInputs, seed: int, validation_subjects: int = 0, protocol: str = "loso"
) -> pd.DataFrame:
    """Leave-one-subject-out folds, one per subject, named after the held-out subject."""
    subjects = inputs.clip_subject
    if len(np.unique(subjects)) < 2:
        raise ValueError(
            f"loso needs at least 2 subjects, got {np.unique(subjects).tolist()}"
        )
    tables = []
    splitter = LeaveOneGroupOut()
    for number, (train, test) in enumerate(
        splitter.split(subjects, inputs.clip_y, groups=subjects)
    ):
        held_out = set(subjects[test].tolist())
        validation = (
            set(
                _validation_subjects(
                    subjects[train], validation_subjects, seed, number
                ).tolist()
            )
            if validation_subjects
            else set()
        )
        tables.append(
            _subject_fold(
                inputs, protocol, "+".join(sorted(held_out)), held_out, validation
            )
        )
    return pd.concat(tables, ignore_index=True)


def cross_dataset_folds(
    inputs: ModelInputs, seed: int, validation_subjects: int = 0
) -> pd.DataFrame:
    """One fold per ordered pair of datasets: train on all of one, test on all of the other.

    Early stopping's validation subjects come from the training dataset.
    """
    datasets = sorted(set(inputs.clip_dataset.tolist()))
    subjects_of = {
        name: set(inputs.clip_subject[inputs.clip_dataset == name].tolist())
        for name in datasets
    }
    tables = []
    for number, (train, test) in enumerate(
        (a, b) for a in datasets for b in datasets if a != b
    ):
        training = np.array(sorted(subjects_of[train]))
        validation = (
            set(
                _validation_subjects(
                    training, validation_subjects, seed, 10**5 + number
                ).tolist()
            )
            if validation_subjects
            else set()
        )
        others = frozenset().union(
            *(subjects_of[d] for d in datasets if d not in (train, test))
        )
        tables.append(
            _subject_fold(
                inputs,
                CROSS_DATASET,
                f"{train}_to_{test}",
                subjects_of[test],
                validation,
                unused_subjects=others,
            )
        )
    return pd.concat(tables, ignore_index=True)


def final_fold(
    inputs: ModelInputs, seed: int, validation_subjects: int = 0
) -> pd.DataFrame:
    """Every subject trains (less the validation subjects of early stopping)."""
    validation = (
        set(
            _validation_subjects(
                inputs.clip_subject, validation_subjects, seed, 10**6
            ).tolist()
        )
        if validation_subjects
        else set()
    )
    return _subject_fold(inputs, FINAL, FINAL_FOLD, set(), validation)


def paper_random_split_folds(
    inputs: ModelInputs, test_size: float, seed: int, validation_fraction: float = 0.0
) -> pd.DataFrame:
    """The method's random split: over frame samples (all ``aug_id``) and, for the flow, clips."""
    tables = []
    for level, y in (("frame", inputs.sample_y), ("clip", inputs.clip_y)):
        train, test = _split(y, test_size, seed, f"paper_random_split ({level}s)")
        validation = np.array([], np.int64)
        if validation_fraction:
            if level == "frame":  # validate on original frames only, like loso
                originals = train[inputs.sample_aug_id[train] == 0]
                fit_part, val_part = _split(
                    inputs.sample_y[originals],
                    validation_fraction,
                    seed + 1,
                    "paper_random_split validation",
                )
                validation = originals[val_part]
            else:
                fit_part, val_part = _split(
                    y[train],
                    validation_fraction,
                    seed + 1,
                    "paper_random_split validation",
                )
                validation = train[val_part]
            train = np.setdiff1d(train, validation)
        tables += [
            _rows("paper_random_split", RANDOM_FOLD, level, np.sort(train), "train"),
            _rows(
                "paper_random_split",
                RANDOM_FOLD,
                level,
                np.sort(validation),
                "validation",
            ),
            _rows("paper_random_split", RANDOM_FOLD, level, np.sort(test), "test"),
        ]
    return pd.concat(tables, ignore_index=True)


def build_folds(inputs: ModelInputs, params: dict[str, Any]) -> pd.DataFrame:
    """Fold table of the selected protocols plus the ``final`` all-subjects fold."""
    protocols = list(params["protocols"])
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(
            f"training.protocols: unknown {unknown}; choose from {list(PROTOCOLS)}"
        )
    datasets = sorted(set(inputs.clip_dataset.tolist()))
    for protocol in ("composite", CROSS_DATASET):
        if protocol in protocols and len(datasets) < 2:
            raise ValueError(
                f"the {protocol} protocol needs several datasets joined, got "
                f"{datasets}: run it as its own pipeline (kedro run --pipelines=composite)"
            )
    seed = int(params["seed"])
    stopping = params["early_stopping"]
    subjects = int(stopping["validation_subjects"]) if stopping["enabled"] else 0
    fraction = float(stopping["validation_fraction"]) if stopping["enabled"] else 0.0
    tables = []
    if "paper_random_split" in protocols:
        tables.append(
            paper_random_split_folds(
                inputs, float(params["paper_random_split"]["test_size"]), seed, fraction
            )
        )
    for protocol in ("loso", "composite"):
        if protocol in protocols:
            tables.append(loso_folds(inputs, seed, subjects, protocol))
    if CROSS_DATASET in protocols:
        tables.append(cross_dataset_folds(inputs, seed, subjects))
    tables.append(final_fold(inputs, seed, subjects))
    return pd.concat(tables, ignore_index=True)[FOLD_COLUMNS]


def iter_folds(folds: pd.DataFrame, level: str) -> Iterator[Fold]:
    """The folds of one level in table order (``final`` last)."""
    table = folds[folds["level"] == level]
    order = list(dict.fromkeys(zip(table["protocol"], table["fold"])))
    order.sort(key=lambda key: key[0] == FINAL)  # stable: protocols first, final last
    for protocol, name in order:
        rows = table[(table["protocol"] == protocol) & (table["fold"] == name)]
        by_role = {
            role: np.sort(rows.loc[rows["role"] == role, "sample"].to_numpy(np.int64))
            for role in ("train", "validation", "test")
        }
        yield Fold(
            protocol,
            str(name),
            by_role["train"],
            by_role["validation"],
            by_role["test"],
        )


GAP_COLUMNS = ["protocol", "fold", "level", "missing_classes", "test_clips_of_them"]


def classes_missing_from_training(
    folds: pd.DataFrame, inputs: ModelInputs
) -> pd.DataFrame:
    """Folds whose training samples lack a class: the model cannot predict it there.

    Such a fold scores 0 on that class's held-out clips whatever the model, so
    a class that lives in a single subject drags LOSO UF1/UAR down silently.

    Returns:
        One row per (protocol, fold, level) with a gap (``GAP_COLUMNS``):
        ``missing_classes`` comma-separated, ``test_clips_of_them`` the test
        clips of those classes in the fold.
    """
    labels = {"frame": inputs.sample_y, "clip": inputs.clip_y}
    clips = {"frame": inputs.sample_clip, "clip": np.arange(len(inputs.clip_y))}
    rows = []
    for level in LEVELS:
        for fold in iter_folds(folds, level):
            present = set(labels[level][fold.train].tolist())
            missing = [
                name
                for index, name in enumerate(inputs.classes.tolist())
                if index not in present
            ]
            if not missing:
                continue
            missing_y = [inputs.classes.tolist().index(name) for name in missing]
            test_clips = set(clips[level][fold.test].tolist())
            rows.append(
                {
                    "protocol": fold.protocol,
                    "fold": fold.name,
                    "level": level,
                    "missing_classes": ", ".join(missing),
                    "test_clips_of_them": sum(
                        1 for clip in test_clips if inputs.clip_y[clip] in missing_y
                    ),
                }
            )
    return pd.DataFrame(rows, columns=GAP_COLUMNS)

"""au_predicted trains on cross-fitted AU predictions: subject-grouped, training fold only."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from me_emotion.pipelines.training.au_enhanced import (
    ActionUnitProbabilities,
    AuPredictedClassifier,
)
from me_emotion.pipelines.training.evaluation import (
    FitSettings,
    ModelEvaluation,
    cross_fitting_groups,
    feature_matrix,
    fit_one_fold,
    model_arrays,
    sample_subjects,
)
from me_emotion.pipelines.training.fitting import fit_estimator
from me_emotion.pipelines.training.protocols import build_folds, iter_folds
from me_emotion.pipelines.training.registry import MODELS

SPEC = MODELS["au_predicted"]


class SpyActionUnits(ActionUnitProbabilities):
    """Records the embedding rows of every fit and, per predict, the rows it was fitted on."""

    fits: list[np.ndarray] = []
    predictions: list[
        tuple[np.ndarray, np.ndarray]
    ] = []  # (fitted rows, predicted rows)

    def fit(self, embedding, annotated):
        self.fitted_rows_ = np.asarray(embedding).copy()
        SpyActionUnits.fits.append(self.fitted_rows_)
        return super().fit(embedding, annotated)

    def predict(self, embedding):
        SpyActionUnits.predictions.append((self.fitted_rows_, np.asarray(embedding)))
        return super().predict(embedding)


@pytest.fixture
def spy(monkeypatch):
    SpyActionUnits.fits, SpyActionUnits.predictions = [], []
    monkeypatch.setattr(
        AuPredictedClassifier,
        "_action_unit_model",
        lambda self: SpyActionUnits(C=self.au_C, random_state=self.random_state),
    )
    return SpyActionUnits


def _rows_of(rows: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Indices into ``embeddings`` of ``rows`` (random floats: every row unique)."""
    index = {row.tobytes(): i for i, row in enumerate(embeddings.astype(np.float64))}
    return np.array([index[row.tobytes()] for row in rows.astype(np.float64)], np.int64)


def test_cross_fitting_never_sees_the_held_out_rows(inputs, params, spy):
    """One LOSO fold: no AU model is fitted on a held-out row, and each training
    subject's AU columns come from a model not fitted on that subject."""
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    fold = next(f for f in iter_folds(folds, "frame") if f.name == "s0")
    evaluation = ModelEvaluation(
        "au_predicted",
        SPEC,
        params["models"]["au_predicted"],
        inputs,
        FitSettings(0, "balanced", "float32", 1, 2),
        n_folds=1,
    )
    fit_one_fold(evaluation, (1, fold))

    embeddings = feature_matrix(
        model_arrays(inputs, SPEC, np.arange(len(inputs.sample_clip)), {})
    )[:, -inputs.embeddings.shape[1] :]
    subject = inputs.sample_subject
    held_out = set(np.flatnonzero(subject == "s0"))
    # 3 training subjects, au_cv_folds 3: three cross-fits, then the model kept for test
    assert len(spy.fits) == 4
    for fitted in spy.fits:
        assert not held_out & set(_rows_of(fitted, embeddings))
    cross_fitted = 0
    for fitted, predicted in spy.predictions:
        fitted_subjects = set(subject[_rows_of(fitted, embeddings)])
        predicted_rows = _rows_of(predicted, embeddings)
        if len(fitted) == len(fold.train):  # the AU model applied to the test rows
            assert set(predicted_rows) <= held_out
            continue
        cross_fitted += len(predicted_rows)
        assert not fitted_subjects & set(subject[predicted_rows])
    assert cross_fitted == len(fold.train)  # every training row cross-fitted once


def test_a_subjects_own_aus_never_reach_its_training_au_columns(inputs):
    """Flipping subject s1's annotated AUs leaves s1's cross-fitted AU columns
    as they were (they come from the other subjects' models) and moves the others'."""
    spec = SPEC
    index = np.arange(len(inputs.sample_clip))
    X = feature_matrix(model_arrays(inputs, spec, index, {}))
    groups = sample_subjects(inputs, spec, index)
    model = AuPredictedClassifier(
        n_action_units=inputs.action_units.shape[1], au_cv_folds=4
    )
    annotated, embedding = model._split(X)
    before = model._training_action_units(annotated, embedding, groups)
    flipped = annotated.copy()
    flipped[groups == "s1"] = 1 - flipped[groups == "s1"]
    after = model._training_action_units(flipped, embedding, groups)
    own = groups == "s1"
    assert np.array_equal(before[own], after[own])
    assert not np.allclose(before[~own], after[~own])
    # in-sample predictions would have seen the flip
    in_sample = ActionUnitProbabilities().fit(embedding, flipped).predict(embedding)
    assert not np.allclose(in_sample[own], before[own])


def test_cross_fitting_needs_the_subjects_and_falls_back_with_one(inputs):
    index = np.arange(len(inputs.sample_clip))
    X = feature_matrix(model_arrays(inputs, SPEC, index, {}))
    model = AuPredictedClassifier(n_action_units=inputs.action_units.shape[1])
    with pytest.raises(ValueError, match="needs groups"):
        model.fit(X, inputs.sample_y)
    with pytest.raises(ValueError, match="one subject per training row"):
        model.fit(X, inputs.sample_y, groups=["s0"])
    # one subject: no model unfitted on it, so the training AU columns are its AU rates
    annotated, embedding = model._split(X)
    model._fit_action_units(annotated, embedding)
    constant = model._training_action_units(annotated, embedding, np.full(len(X), "s0"))
    assert np.allclose(constant, annotated.mean(axis=0))


def test_groups_reach_only_estimators_that_take_them(inputs):
    index = np.arange(len(inputs.sample_clip))
    X = feature_matrix(model_arrays(inputs, SPEC, index, {}))
    groups = sample_subjects(inputs, SPEC, index)
    fitted = fit_estimator(
        AuPredictedClassifier(n_action_units=inputs.action_units.shape[1]),
        X,
        inputs.sample_y,
        groups=groups,
    )
    assert (fitted.predict(X) == inputs.sample_y).mean() > 0.9
    tree = fit_estimator(
        DecisionTreeClassifier(max_depth=2), X, inputs.sample_y, groups
    )
    assert tree.get_depth() <= 2


def test_cross_fitting_groups_follow_the_protocol(inputs, params):
    """Subjects under LOSO (a test subject is unseen); single rows under the
    random split over frames (a test frame's clip is in training)."""
    folds = build_folds(inputs, {**params, "protocols": ["loso", "paper_random_split"]})
    loso = next(f for f in iter_folds(folds, "frame") if f.protocol == "loso")
    random = next(
        f for f in iter_folds(folds, "frame") if f.protocol == "paper_random_split"
    )
    assert np.array_equal(
        cross_fitting_groups(inputs, SPEC, loso), inputs.sample_subject[loso.train]
    )
    groups = cross_fitting_groups(inputs, SPEC, random)
    assert len(np.unique(groups)) == len(random.train) == len(groups)

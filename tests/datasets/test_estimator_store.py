"""Scikit-learn models stored as JSON + arrays: exact round trip, no code on load."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from kedro.io import DatasetError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from me_emotion.datasets.estimator_store import (
    SafeEstimatorDataset,
    dumps,
    loads,
)
from me_emotion.datasets.npz import npz_bytes
from me_emotion.pipelines.training.au_enhanced import (
    AuEnhancedClassifier,
    AuPredictedClassifier,
)
from me_emotion.pipelines.training.fitting import class_scores


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 70))
    X[:, :64] = X[:, :64] > 1
    return X, rng.integers(0, 3, 60)


@pytest.mark.parametrize(
    "estimator",
    [
        DecisionTreeClassifier(min_samples_leaf=3, random_state=0),
        make_pipeline(StandardScaler(), SVC(class_weight="balanced", random_state=0)),
        AuEnhancedClassifier(n_clusters=3, n_components=2),
        AuPredictedClassifier(n_clusters=3, n_components=2),
    ],
    ids=["decision_tree", "svm", "au_enhanced", "au_predicted"],
)
def test_round_trip_gives_the_same_scores(tmp_path, data, estimator):
    X, y = data
    if isinstance(
        estimator, AuEnhancedClassifier
    ):  # au_predicted cross-fits by subject
        estimator.fit(X, y, groups=np.arange(len(y)) % 5)
    else:
        estimator.fit(X, y)
    dataset = SafeEstimatorDataset(str(tmp_path / "model.estimator.npz"))
    dataset.save(estimator)
    assert dataset.exists()
    loaded = dataset.load()
    assert type(loaded) is type(estimator)
    assert np.array_equal(class_scores(estimator, X, 3), class_scores(loaded, X, 3))
    with np.load(tmp_path / "model.estimator.npz", allow_pickle=False) as archive:
        assert "__state__" in archive.files  # plain arrays: loadable without pickle


def _tampered(data: bytes, replace: tuple[str, str]) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    state = str(arrays["__state__"]).replace(*replace)
    arrays["__state__"] = np.array(state)
    return npz_bytes(arrays, compress=True)


@pytest.mark.parametrize(
    "target", ["os:system", "builtins:eval", "sklearn.utils:Bunch"]
)
def test_loading_refuses_classes_outside_the_allow_list(data, target):
    X, y = data
    stored = dumps(DecisionTreeClassifier(max_depth=2).fit(X, y))
    tampered = _tampered(
        stored, ("sklearn.tree._classes:DecisionTreeClassifier", target)
    )
    with pytest.raises(DatasetError, match="refusing"):
        loads(tampered)


def test_saving_refuses_what_it_cannot_store_safely(data):
    X, y = data
    estimator = DecisionTreeClassifier(max_depth=2).fit(X, y)
    estimator.callback_ = lambda: None
    with pytest.raises(TypeError, match="cannot store"):
        dumps(estimator)


def test_the_state_records_the_scikit_learn_version(data):
    X, y = data
    with np.load(
        io.BytesIO(dumps(DecisionTreeClassifier().fit(X, y))), allow_pickle=False
    ) as a:
        state = json.loads(str(a["__state__"]))
    assert state["format"] == "me_emotion.estimator/1" and state["sklearn_version"]

"""Every model on every fold: fitted steps see training data only, missing classes work."""

from __future__ import annotations

import pickle
from functools import partial

import numpy as np
import pandas as pd
import pytest

from me_emotion.core.architectures import FUSION_LAYER
from me_emotion.pipelines.training import builders, fusion
from me_emotion.pipelines.training.au_enhanced import (
    AuEnhancedClassifier,
    AuPredictedClassifier,
)
from me_emotion.pipelines.training.evaluation import (
    FitSettings,
    ModelEvaluation,
    feature_matrix,
    fit_one_fold,
    model_arrays,
    settings_label,
)
from me_emotion.pipelines.training.fitting import (
    KerasTrainer,
    balanced_sample_weights,
    class_scores,
    fit_estimator,
)
from me_emotion.pipelines.training.inputs import ModelInputs
from me_emotion.pipelines.training.nodes import (
    compute_metrics,
    make_folds,
    pool_predictions,
)
from me_emotion.pipelines.training.protocols import build_folds, iter_folds
from me_emotion.pipelines.training.registry import MODELS

from .conftest import evaluate, make_inputs


def test_k_means_and_scaler_see_the_training_fold_only(inputs, params, monkeypatch):
    seen = []
    original_fit = AuEnhancedClassifier.fit

    def spy(self, X, y):
        seen.append(np.asarray(X).copy())
        return original_fit(self, X, y)

    monkeypatch.setattr(AuEnhancedClassifier, "fit", spy)
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    _, final = evaluate("au_enhanced", inputs, folds, params)
    fold_list = list(iter_folds(folds, "frame"))
    assert len(seen) == len(fold_list)
    spec = MODELS["au_enhanced"]
    for X, fold in zip(seen, fold_list):
        expected = feature_matrix(model_arrays(inputs, spec, fold.train, {}))
        assert np.array_equal(X, expected)  # exactly the training samples
        held_out = np.isin(inputs.sample_subject, [fold.name])
        assert not np.isin(X[:, -1], inputs.embeddings[held_out, -1]).any()
    assert len(final.kmeans_.labels_) == len(inputs.sample_clip)  # final: every sample
    assert final.scaler_.n_samples_seen_ == len(inputs.sample_clip)


@pytest.mark.integration  # trains HybridMicroNet 2 x 5 times
def test_fusion_weights_are_chosen_on_training_subjects_only(
    inputs, params, monkeypatch
):
    """HybridMicroNet's fusion choice validates on whole training subjects of
    each fold, never the fold's test subject; the final model keeps the weights
    chosen for it (a point of the grid)."""
    seen = []
    original_split = fusion.inner_split

    def spy(groups, share, seed, fold_name):
        inner, held = original_split(groups, share, seed, fold_name)
        seen.append((fold_name, set(groups), set(groups[held])))
        return inner, held

    monkeypatch.setattr(fusion, "inner_split", spy)
    assert params["models"]["hybrid_micronet"]["fusion_choice"]["on_validation"]
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    _, final = evaluate("hybrid_micronet", inputs, folds, params)
    subjects = set(inputs.clip_subject)
    assert len(seen) == len(subjects) + 1  # every LOSO fold and the final model
    for fold_name, training, held in seen:
        test_subject = fold_name.split("/")[-1]
        if fold_name.startswith("loso/"):
            assert training == subjects - {test_subject}
        else:
            assert training == subjects  # final: every subject trains
        assert len(held) == 1 and held < training  # round(0.2 x 3 or 4) = 1
    kernel = final.get_layer(FUSION_LAYER).get_weights()[0].ravel()
    grid = fusion.weight_grid(
        ["image_delta", "embedding_delta", "flow"], (0.0, 1.0, 2.0)
    )
    assert any(np.allclose(kernel, list(w.values()), atol=1e-5) for w in grid)


@pytest.mark.parametrize("name", ["au_enhanced", "au_predicted"])
def test_test_clips_annotated_aus_reach_only_the_annotated_au_model(
    inputs, params, name
):
    """au_predicted's test predictions never read the held-out clips' annotated AUs."""
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    before, _ = evaluate(name, inputs, folds, params)
    held_out = inputs.clip_subject == "s0"
    action_units = inputs.action_units.copy()
    action_units[held_out] = 1 - action_units[held_out]  # every AU flipped
    changed = ModelInputs(**{**vars(inputs), "action_units": action_units})
    after, _ = evaluate(name, changed, folds, params)
    fold = before["fold"] == "s0"
    probabilities = [c for c in before.columns if c.startswith("prob_")]
    same = np.allclose(before[fold][probabilities], after[fold][probabilities])
    assert same == (name == "au_predicted")
    # the other folds train on the changed AUs: both models see them there
    assert not np.allclose(before[~fold][probabilities], after[~fold][probabilities])


def test_predicted_aus_are_learnt_from_the_training_fold(inputs):
    X = feature_matrix(
        model_arrays(
            inputs, MODELS["au_predicted"], np.arange(len(inputs.sample_clip)), {}
        )
    )
    model = AuPredictedClassifier(n_action_units=inputs.action_units.shape[1]).fit(
        X, inputs.sample_y, groups=inputs.sample_subject
    )
    annotated = X[:, : model.n_action_units]
    predicted = model._action_units(
        np.zeros_like(annotated), X[:, model.n_action_units :]
    )
    varying = model.au_model_.varying_
    assert len(varying) == 6  # the AUs the fake classes set
    assert np.mean((predicted[:, varying] > 0.5) == annotated[:, varying]) > 0.9
    never = np.setdiff1d(np.arange(model.n_action_units), varying)
    assert (predicted[:, never] == 0).all()  # never set in training: predicted 0
    assert (
        model.predict(
            np.hstack([np.zeros_like(annotated), X[:, model.n_action_units :]])
        )
        == model.predict(X)
    ).all()


def test_keras_standardiser_statistics_come_from_the_training_samples(inputs, params):
    spec = MODELS["ann"]
    shapes = {"embedding": inputs.embeddings.shape[1:]}
    trainer = KerasTrainer(
        lambda: spec.build(params["models"]["ann"], shapes, inputs.n_classes),
        lambda: __import__("keras").optimizers.SGD(0.01),
        "float32",
        spec.standardisers,
    )
    train = np.arange(0, 30)
    x = {"embedding": inputs.embeddings[train]}
    trainer.fit(
        x,
        inputs.sample_y[train],
        sample_weight=np.ones(30),
        validation=None,
        n_classes=3,
        settings={"epochs": 1, "batch_size": 16, "patience": 1},
        seed=1,
    )
    layer = trainer.model.get_layer("embedding_scale")
    assert np.allclose(
        layer.moving_mean.numpy(), inputs.embeddings[train].mean(axis=0), atol=1e-5
    )
    assert np.allclose(
        layer.moving_variance.numpy(), inputs.embeddings[train].var(axis=0), atol=1e-4
    )


def test_a_reused_keras_model_gives_each_fold_the_result_of_a_fresh_one(inputs, params):
    """Reset per fold: a fold's predictions do not depend on the folds before it."""
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    alone = folds[(folds["fold"] == "s2")]
    after_others = folds[folds["fold"].isin(["s0", "s1", "s2"])]
    first, _ = evaluate("ann", inputs, alone, params)
    second, _ = evaluate("ann", inputs, after_others, params)
    second = second[second["fold"] == "s2"].reset_index(drop=True)
    prob = [c for c in first.columns if c.startswith("prob_")]
    assert np.allclose(first[prob], second[prob], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_handles_a_class_missing_from_a_training_fold(name, params):
    """Only s0 shows 'surprise': its LOSO fold trains without that class."""
    inputs = make_inputs(
        {
            "s0": ["negative", "positive", "surprise"],
            "s1": ["negative", "positive"],
            "s2": ["negative", "positive"],
        }
    )
    folds, _ = make_folds(inputs.to_arrays(), {**params, "protocols": ["loso"]})
    predictions, final = evaluate(name, inputs, folds, params)
    s0 = predictions[predictions["fold"] == "s0"]
    assert len(s0) and set(s0["y_true"]) == {"negative", "positive", "surprise"}
    assert np.allclose(
        s0[["prob_negative", "prob_positive", "prob_surprise"]].sum(axis=1),
        1,
        atol=1e-4,
    )
    if MODELS[name].family == "sklearn":  # never seen in training: scored 0
        assert (s0["prob_surprise"] == 0).all()
    assert final is not None


def test_a_single_class_training_fold_predicts_that_class():
    X = np.zeros((4, 3))
    fitted = fit_estimator(
        builders.svm({"C": 1, "kernel": "rbf", "gamma": "scale"}, None, 0),
        X,
        np.array([2, 2, 2, 2]),
    )
    assert class_scores(fitted, X, 3)[:, 2].tolist() == [1, 1, 1, 1]


def test_balanced_weights():
    weights = balanced_sample_weights(np.array([0, 0, 0, 1]), True)
    assert weights.tolist() == pytest.approx([4 / 6, 4 / 6, 4 / 6, 2.0])
    assert balanced_sample_weights(np.array([0, 1]), False).tolist() == [1, 1]


def test_flow_flip_negates_horizontal_flow():
    flow = np.arange(2 * 3 * 3 * 2, dtype=np.float32).reshape(2, 3, 3, 2)
    flipped = builders.flip_flow(flow, ["u", "v"])
    assert np.array_equal(flipped[..., 0], -flow[:, :, ::-1, 0])
    assert np.array_equal(flipped[..., 1], flow[:, :, ::-1, 1])


def test_flip_augment_doubles_the_training_flow_only():
    x = {"flow": np.ones((3, 4, 4, 2), np.float32)}
    y = np.array([0, 1, 2])
    options = {"flip_augment": True, "channels": ["u", "v"]}
    doubled, labels = builders.flow_flips(options, x, y)
    assert doubled["flow"].shape == (6, 4, 4, 2) and labels.tolist() == [0, 1, 2] * 2
    same, _ = builders.flow_flips({**options, "flip_augment": False}, x, y)
    assert same["flow"].shape == (3, 4, 4, 2)


def test_predictions_table(inputs, params):
    folds = build_folds(inputs, params)
    predictions, _ = evaluate("svm", inputs, folds, params)
    assert isinstance(predictions, pd.DataFrame)
    assert set(predictions["protocol"]) == {"paper_random_split", "loso"}
    assert {
        "data_source",
        "protocol",
        "model",
        "fold",
        "clip",
        "frame",
        "y_true",
        "y_pred",
        "prob_negative",
        "prob_positive",
        "prob_surprise",
    } <= set(predictions.columns)
    assert (predictions["level"] == "frame").all()
    flow, _ = evaluate("flow_cnn", inputs, folds, params)
    loso = flow[flow["protocol"] == "loso"]
    assert len(loso) == len(inputs.clip_y)  # one sample per clip
    assert (loso["level"] == "clip").all() and (loso["frame"] == -1).all()
    pooled = pool_predictions(predictions, flow)
    assert len(pooled[(pooled["model"] == "flow_cnn")]) == len(flow)  # passed through
    svm_clips = pooled[(pooled["model"] == "svm") & (pooled["level"] == "clip")]
    assert len(svm_clips[svm_clips["protocol"] == "loso"]) == len(inputs.clip_y)


def test_the_per_fold_task_pickles_and_gives_the_same_fold(inputs, params):
    """``map_tasks`` may ship folds to other processes: the task is plain data."""
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    fold_list = list(iter_folds(folds, "frame"))
    evaluation = ModelEvaluation(
        name="ann",
        spec=MODELS["ann"],
        options=params["models"]["ann"],
        inputs=inputs,
        settings=FitSettings(int(params["seed"]), "balanced", "float32", 1, 5),
        n_folds=len(fold_list),
    )
    task = partial(fit_one_fold, evaluation)
    here, _ = task((1, fold_list[0]))  # builds and keeps its Keras model
    shipped = pickle.loads(pickle.dumps(task))
    assert shipped.args[0]._trainer is None  # each process compiles its own
    there, _ = shipped((1, fold_list[0]))
    prob = [c for c in here.columns if c.startswith("prob_")]
    assert np.allclose(here[prob], there[prob], atol=1e-5)


def test_settings_label_names_weights_other_than_the_papers():
    assert settings_label(48, "hed (VGG-16 conv layers of HED, BSDS500)") == (
        "demo settings"
    )
    assert settings_label(224, "imagenet") == "paper settings"
    label = settings_label(224, "hed (VGG-16 conv layers of HED, BSDS500)")
    assert label.startswith("paper settings except the VGG-16 weights: hed")
    assert "ImageNet" in label


def test_every_metrics_row_carries_the_settings_behind_it(inputs, params):
    folds = build_folds(inputs, params)
    cnn, _ = evaluate("cnn", inputs, folds, params)
    svm, _ = evaluate("svm", inputs, folds, params)
    metrics, confusion = compute_metrics(pool_predictions(cnn, svm))
    cnn_rows, svm_rows = (metrics[metrics["model"] == m] for m in ("cnn", "svm"))
    assert set(cnn_rows["image_size"]) == {"32"}  # the image branch's size
    assert set(cnn_rows["epochs"]) == {str(params["models"]["cnn"]["epochs"])}
    assert set(svm_rows["image_size"]) == set(svm_rows["epochs"]) == {"-"}
    assert set(metrics["settings"]) == {"demo settings"}  # 32 px, not the paper's 224
    assert set(metrics["n_seeds"]) == {1}
    assert set(metrics["embedding_weights"]) == {"random (untrained)"}
    assert len(metrics) == 8  # 2 models x 2 protocols x 2 levels: nothing lost
    assert {"settings", "image_size", "epochs", "n_seeds"} <= set(confusion.columns)
    with pytest.raises(ValueError, match="settings columns"):
        compute_metrics(svm.drop(columns=["settings"]))


def test_n_seeds_repeats_the_folds_and_reports_mean_and_sd(inputs, params):
    folds = build_folds(inputs, {**params, "protocols": ["loso"]})
    one, final_one = evaluate("au_enhanced", inputs, folds, params)
    two, final_two = evaluate("au_enhanced", inputs, folds, {**params, "n_seeds": 2})
    seed = params["seed"]
    assert set(one["seed"]) == {seed} and set(two["seed"]) == {seed, seed + 1}
    assert set(two["n_seeds"]) == {2} and set(one["n_seeds"]) == {1}
    first = two[two["seed"] == seed].drop(columns="n_seeds").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, one.drop(columns="n_seeds"))  # unchanged
    assert np.array_equal(final_one.kmeans_.labels_, final_two.kmeans_.labels_)

    metrics_one, _ = compute_metrics(pool_predictions(one))
    metrics_two, confusion = compute_metrics(pool_predictions(two))
    assert metrics_one["uf1_sd"].isna().all()  # one seed: no sd
    per_seed = [
        compute_metrics(pool_predictions(two[two["seed"] == s]))[0]
        for s in (seed, seed + 1)
    ]
    uf1 = np.stack([m["uf1"].to_numpy() for m in per_seed])
    assert np.allclose(metrics_two["uf1"], uf1.mean(axis=0))
    assert np.allclose(metrics_two["uf1_sd"], uf1.std(axis=0, ddof=1))
    assert (metrics_two["n_samples"] == metrics_one["n_samples"]).all()
    assert confusion["count"].sum() == 2 * (len(one) + len(inputs.clip_y))
    with pytest.raises(ValueError, match="n_seeds"):
        evaluate("svm", inputs, folds, {**params, "n_seeds": 0})

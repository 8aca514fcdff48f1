"""Model builders: shapes for several class counts, the residual attention block."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from kedro_datasets.tensorflow import TensorFlowModelDataset

from me_emotion.core.architectures import (
    build_ann,
    build_cnn,
    build_flow_cnn,
    build_hybrid_micronet,
    build_onset_hybrid,
    fusion_branches,
    residual_attention_block,
    set_fusion_weights,
)


def input_shapes(model: keras.Model) -> dict[str, tuple]:
    return {name: tuple(model.get_layer(name).output.shape) for name in model.input}


@pytest.mark.parametrize("n_classes", [2, 3, 5, 7])
def test_hybrid_micronet_shapes(n_classes):
    model = build_hybrid_micronet(48, n_classes, embedding_size=512)
    assert model.output_shape == (None, n_classes)
    assert model.get_layer("resnet_stem_conv").kernel_size == (7, 7)
    assert model.get_layer("resnet_stem_conv").strides == (2, 2)
    assert model.get_layer("resnet_stem_conv").filters == 16
    assert model.get_layer("resnet_stem_pad").padding == ((2, 2), (2, 2))
    assert model.get_layer("resnet_stem_pool").pool_size == (3, 3)
    probabilities = model.predict(
        {"image": np.zeros((2, 48, 48, 1)), "embedding": np.zeros((2, 512))}, verbose=0
    )
    assert probabilities.shape == (2, n_classes)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_hybrid_micronet_at_the_method_size():
    model = build_hybrid_micronet(224, 5)
    assert input_shapes(model) == {
        "image": (None, 224, 224, 1),
        "embedding": (None, 512),
    }
    assert model.output_shape == (None, 5)
    # stem: pad 2 -> 228, 7x7 stride 2 -> 111, pool 3x3 stride 2 -> 56
    assert model.get_layer("resnet_stem_pool").output.shape[1:3] == (56, 56)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_baseline_shapes(n_classes):
    assert build_cnn(32, n_classes).output_shape == (None, n_classes)
    assert build_ann(16, n_classes).output_shape == (None, n_classes)
    flow = build_flow_cnn(28, 3, n_classes)
    assert input_shapes(flow) == {"flow": (None, 28, 28, 3)}
    assert flow.output_shape == (None, n_classes)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="below 32"):
        build_hybrid_micronet(16, 3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_cnn(32, 1)


@pytest.mark.parametrize(
    ("shape", "filters", "stride", "expected"),
    [
        ((16, 16, 8), 8, 1, (16, 16, 8)),
        ((16, 16, 8), 16, 2, (8, 8, 16)),
        ((7, 7, 4), 4, 1, (7, 7, 4)),
    ],
)
def test_residual_attention_block_shape(shape, filters, stride, expected):
    inputs = keras.Input(shape)
    outputs = residual_attention_block(inputs, filters, stride, "block")
    assert tuple(outputs.shape[1:]) == expected


def test_residual_attention_output_is_one_plus_mask_times_trunk():
    """Pushing the mask to 0 gives T(x), to 1 gives 2 T(x): the mask path is used."""
    inputs = keras.Input((8, 8, 4))
    out = residual_attention_block(inputs, 4, 1, "block")
    model = keras.Model(inputs, out)
    probe = keras.Model(inputs, [out, model.get_layer("block_trunk_out").output])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 4)).astype(np.float32)
    mask_logits = model.get_layer("block_mask_1x1_b")
    kernel, bias = mask_logits.get_weights()
    for bias_value, factor in ((-50.0, 1.0), (50.0, 2.0)):
        mask_logits.set_weights([np.zeros_like(kernel), np.full_like(bias, bias_value)])
        output, trunk = probe.predict(x, verbose=0)
        assert np.allclose(output, factor * trunk, atol=1e-5)
    assert np.abs(trunk).sum() > 0


def test_saved_model_loads_in_keras_safe_mode(tmp_path):
    """Built-in layers only: the catalog's TensorFlowModelDataset reloads it safely."""
    model = build_hybrid_micronet(32, 3, embedding_size=8, filters=(4, 8))
    dataset = TensorFlowModelDataset(filepath=str(tmp_path / "hybrid.keras"))
    dataset.save(model)
    loaded = dataset.load()
    x = {"image": np.full((1, 32, 32, 1), 100.0), "embedding": np.ones((1, 8))}
    assert np.allclose(
        model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6
    )


def _separable_toy_set(n_per_class: int, seed: int) -> tuple[dict, np.ndarray]:
    """3 separable classes, as 32x32 uint8-range images (a brighter square in class
    c's own quadrant; pixel noise and a per-image brightness like faces') and as
    8-d embeddings (shifted means)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per_class)
    images = rng.normal(110.0, 20.0, (len(labels), 32, 32, 1))
    images += rng.normal(0.0, 30.0, (len(labels), 1, 1, 1))
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 2)
        images[i, row * 16 : row * 16 + 16, col * 16 : col * 16 + 16] += 40.0
    embeddings = rng.normal(0.0, 1.0, (len(labels), 8)) + 3.0 * np.eye(8)[labels]
    arrays = {
        "image": np.clip(images, 0, 255).astype(np.float32),
        "embedding": embeddings.astype(np.float32),
    }
    return arrays, labels


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: build_cnn(32, 3), id="cnn"),
        pytest.param(lambda: build_ann(8, 3, hidden_units=(16,)), id="ann"),
    ],
)
def test_keras_baseline_learns_a_separable_toy_set_instead_of_one_class(build):
    """Trained like the training stage (SGD, momentum 0.5, about a hundred steps), a
    baseline predicts every class of an easily separable set in inference mode.

    With Keras' default batch-normalisation momentum (0.99) the CNN's moving
    statistics had not converged after so few steps and it predicted one class.
    """
    keras.utils.set_random_seed(0)
    x_train, y_train = _separable_toy_set(64, seed=1)
    x_test, y_test = _separable_toy_set(10, seed=2)
    model = build()
    names = list(model.input)
    if "embedding_scale" in [layer.name for layer in model.layers]:
        scale = model.get_layer("embedding_scale")  # fitted as the training stage does
        scale.moving_mean.assign(x_train["embedding"].mean(axis=0))
        scale.moving_variance.assign(x_train["embedding"].var(axis=0))
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.5),
        loss="categorical_crossentropy",
    )
    model.fit(
        {name: x_train[name] for name in names},
        keras.utils.to_categorical(y_train, 3),
        epochs=8,
        batch_size=16,
        verbose=0,
    )
    predicted = model.predict({name: x_test[name] for name in names}, verbose=0)
    predicted = predicted.argmax(axis=1)
    assert len(np.unique(predicted)) == 3, np.bincount(predicted, minlength=3)
    assert (predicted == y_test).mean() >= 0.8


def _onset_shapes() -> dict[str, tuple[int, ...]]:
    return {"image_delta": (32, 32, 1), "embedding_delta": (8,), "flow": (9, 9, 2)}


@pytest.mark.parametrize(
    "branches",
    [("image_delta", "embedding_delta", "flow"), ("image_delta", "embedding_delta")],
)
def test_onset_hybrid_builds_and_trains_one_step_on_tiny_arrays(branches, tmp_path):
    """Late fusion: one head per branch, ``probabilities`` their mean; one step
    of training changes the weights; the saved model reloads in safe mode."""
    shapes = {name: _onset_shapes()[name] for name in branches}
    model = build_onset_hybrid(shapes, 3, filters=(4, 8), embedding_units=4)
    assert input_shapes(model) == {name: (None, *shapes[name]) for name in branches}
    heads = [f"{name}_probabilities" for name in branches]
    assert sorted(model.output) == sorted(["probabilities", *heads])
    rng = np.random.default_rng(0)
    x = {
        name: rng.normal(0, 1, (6, *shapes[name])).astype(np.float32) for name in shapes
    }
    y = keras.utils.to_categorical(np.arange(6) % 3, 3)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=dict.fromkeys(heads, "categorical_crossentropy"),
    )
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, dict.fromkeys(heads, y), epochs=1, batch_size=6, verbose=0)
    assert any(
        not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True)
    )
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        out["probabilities"], np.mean([out[h] for h in heads], axis=0), atol=1e-6
    )
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-5)
    dataset = TensorFlowModelDataset(filepath=str(tmp_path / "onset.keras"))
    dataset.save(model)
    np.testing.assert_allclose(
        dataset.load().predict(x, verbose=0)["probabilities"],
        out["probabilities"],
        atol=1e-6,
    )


def test_onset_hybrid_fusion_weights_weigh_the_heads():
    """Weights 1, 0, 3 -> 0.25 x image head + 0.75 x flow head, embedding ignored."""
    model = build_onset_hybrid(
        _onset_shapes(),
        3,
        filters=(4, 8),
        embedding_units=4,
        fusion_weights={"image_delta": 1.0, "embedding_delta": 0.0, "flow": 3.0},
    )
    rng = np.random.default_rng(1)
    x = {
        k: rng.normal(0, 1, (4, *v)).astype(np.float32)
        for k, v in _onset_shapes().items()
    }
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        out["probabilities"],
        0.25 * out["image_delta_probabilities"] + 0.75 * out["flow_probabilities"],
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="non-negative"):
        build_onset_hybrid(_onset_shapes(), 3, fusion_weights={"flow": -1.0})


def test_onset_hybrid_refuses_unknown_or_no_branches():
    with pytest.raises(ValueError, match="at least one of"):
        build_onset_hybrid({}, 3)
    with pytest.raises(ValueError, match="at least one of"):
        build_onset_hybrid({"image": (32, 32, 1)}, 3)


def test_set_fusion_weights_changes_the_fused_output_and_is_saved(tmp_path):
    """Weights set after building (as once chosen on validation) normalise to 1,
    change only ``probabilities`` and survive a save and reload."""
    model = build_onset_hybrid(_onset_shapes(), 3, filters=(4, 8), embedding_units=4)
    assert fusion_branches(model) == ["image_delta", "embedding_delta", "flow"]
    assert set_fusion_weights(model, {"image_delta": 0.0, "embedding_delta": 2.0}) == {
        "image_delta": 0.0,
        "embedding_delta": 2 / 3,
        "flow": 1 / 3,  # not named: 1 before normalising
    }
    rng = np.random.default_rng(2)
    x = {
        k: rng.normal(0, 1, (4, *v)).astype(np.float32)
        for k, v in _onset_shapes().items()
    }
    out = model.predict(x, verbose=0)
    expected = (
        2 * out["embedding_delta_probabilities"] + out["flow_probabilities"]
    ) / 3
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-6)
    dataset = TensorFlowModelDataset(filepath=str(tmp_path / "weighted.keras"))
    dataset.save(model)
    np.testing.assert_allclose(
        dataset.load().predict(x, verbose=0)["probabilities"], expected, atol=1e-6
    )

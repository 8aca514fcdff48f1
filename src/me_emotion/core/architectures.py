"""Keras builders: HybridMicroNet (onset-relative and paper), the baselines, the flow CNN.

Every builder is a function of its hyper-parameters and returns an uncompiled
``keras.Model`` made of built-in Keras layers only (no ``Lambda``, no custom
layer), so a saved ``.keras`` file loads with Keras' ``safe_mode=True``.
Build under :func:`me_emotion.core.vgg16.dtype_policy`
to train in ``mixed_bfloat16``; every softmax output is float32 regardless.

HybridMicroNet, as the method describes it, and where it is vague:

- **Image branch**: a lightweight ResNet on the face image: zero padding (2 px),
  a 7x7 convolution with 16 filters and stride 2, batch normalisation, ReLU, a
  3x3 max pool with stride 2, then residual blocks with residual attention
  (Wang et al. 2017): a trunk ``T(x)`` and a soft mask ``M(x)`` in ``[0, 1]``
  combined as ``(1 + M(x)) * T(x)``. The method gives neither the number of
  blocks nor their widths nor the mask's design: we use one attention block per
  stage, ``filters`` (default 16, 32, 64) with stride 2 between stages, a
  one-level bottom-up/top-down mask (max pool, convolution, bilinear upsampling,
  two 1x1 convolutions, sigmoid), then global average pooling.
- **Input size**: the method's 224x224. The image is grayscale (the crops are),
  so the branch takes one channel; the builder takes any size >= 32 (the
  default run uses 48x48 to fit a 2-core CPU budget; the ``paper``
  configuration environment, ``kedro run --env paper``, restores 224).
- **Feature branch**: the 512-d VGG-16 embedding, standardised with the
  training fold's mean and variance (see :func:`standardiser`), one dense layer.
- **Fusion**: "fused" is not specified; we concatenate both branches and add one
  dense layer before the softmax.
- **Training**: categorical cross-entropy and SGD with momentum 0.5 as the
  method says; the learning rate is not given (0.01 here, a parameter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers

from me_emotion.core.model_interface import (  # noqa: F401 - re-exported for the builders' users
    EMBEDDING_DELTA_INPUT,
    EMBEDDING_INPUT,
    FLOW_INPUT,
    FUSION_LAYER,
    IMAGE_DELTA_INPUT,
    IMAGE_INPUT,
    ONSET_BRANCHES,
    PROBABILITIES,
)

MIN_IMAGE_SIZE = 32


def standardiser(name: str) -> layers.BatchNormalization:
    """A frozen batch normalisation used as ``(x - mean) / std`` with fitted statistics.

    Its ``moving_mean`` / ``moving_variance`` are set from the training fold
    (``fitting.fit_standardisers``); frozen (``trainable=False``), Keras runs it
    in inference mode, so training never changes them. Keras' ``Normalization``
    layer would compile its statistics into the traced graph as constants, so
    a model reused across folds could not be refitted.
    """
    return layers.BatchNormalization(
        center=False, scale=False, epsilon=1e-6, trainable=False, name=name
    )


def _conv_bn(
    x: Any,
    filters: int,
    kernel: int,
    stride: int,
    name: str,
    *,
    batch_norm_momentum: float = 0.99,
) -> Any:
    x = layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding="same",
        use_bias=False,
        name=f"{name}_conv",
    )(x)
    return layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_bn")(x)


def residual_unit(x: Any, filters: int, stride: int, name: str) -> Any:
    """Basic ResNet unit: two 3x3 conv-BN, a projected shortcut where shapes change."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, f"{name}_shortcut")
    y = _conv_bn(x, filters, 3, stride, f"{name}_a")
    y = layers.ReLU(name=f"{name}_a_relu")(y)
    y = _conv_bn(y, filters, 3, 1, f"{name}_b")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


def soft_mask(x: Any, filters: int, name: str) -> Any:
    """``M(x)`` in ``[0, 1]``, same shape as ``x``: down, convolve, up, 1x1, sigmoid."""
    height, width = x.shape[1], x.shape[2]
    m = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_down")(x)
    m = _conv_bn(m, filters, 3, 1, f"{name}_mid")
    m = layers.ReLU(name=f"{name}_mid_relu")(m)
    m = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(m)
    extra_h, extra_w = m.shape[1] - height, m.shape[2] - width
    if extra_h or extra_w:  # odd sizes: the upsampled map is one pixel larger
        m = layers.Cropping2D(((0, extra_h), (0, extra_w)), name=f"{name}_crop")(m)
    m = layers.Conv2D(filters, 1, name=f"{name}_1x1_a")(m)
    m = layers.ReLU(name=f"{name}_1x1_relu")(m)
    m = layers.Conv2D(filters, 1, name=f"{name}_1x1_b")(m)
    return layers.Activation("sigmoid", name=f"{name}_sigmoid")(m)


def residual_attention_block(x: Any, filters: int, stride: int, name: str) -> Any:
    """One residual unit, then ``(1 + M(x)) * T(x)`` with trunk ``T`` and mask ``M``.

    The mask's output layer is ``<name>_mask_sigmoid``; the product is
    ``<name>_attend`` and the result ``<name>_out``.
    """
    x = residual_unit(x, filters, stride, f"{name}_pre")
    trunk = residual_unit(x, filters, 1, f"{name}_trunk")
    mask = soft_mask(x, filters, f"{name}_mask")
    attended = layers.Multiply(name=f"{name}_attend")([mask, trunk])  # M(x) * T(x)
    return layers.Add(name=f"{name}_out")([trunk, attended])  # (1 + M(x)) * T(x)


def image_branch(
    image: Any, filters: Sequence[int], name: str = "resnet", *, rescale: bool = True
) -> Any:
    """The lightweight ResNet with residual attention, globally average-pooled.

    ``rescale`` maps uint8 intensities to [-1, 1]; an input already scaled
    (a standardised difference image) passes ``False``.
    """
    x = (
        layers.Rescaling(1 / 127.5, offset=-1.0, name=f"{name}_rescale")(image)
        if rescale
        else image
    )
    x = layers.ZeroPadding2D(2, name=f"{name}_stem_pad")(x)
    x = layers.Conv2D(
        16, 7, strides=2, padding="valid", use_bias=False, name=f"{name}_stem_conv"
    )(x)
    x = layers.BatchNormalization(name=f"{name}_stem_bn")(x)
    x = layers.ReLU(name=f"{name}_stem_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_stem_pool")(x)
    for stage, width in enumerate(filters):
        x = residual_attention_block(
            x, int(width), 1 if stage == 0 else 2, f"{name}_stage{stage + 1}"
        )
    return layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)


def _softmax(x: Any, n_classes: int) -> Any:
    x = layers.Dense(n_classes, name="logits")(x)
    return layers.Activation("softmax", dtype="float32", name="probabilities")(x)


def _check(input_size: int, n_classes: int) -> None:
    if input_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image input size {input_size} is below {MIN_IMAGE_SIZE} px: the stem "
            "and three stages would leave no spatial extent"
        )
    if n_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {n_classes}")


def build_hybrid_micronet(
    input_size: int = 224,
    n_classes: int = 5,
    *,
    embedding_size: int = 512,
    filters: Sequence[int] = (16, 32, 64),
    embedding_units: int = 128,
    fusion_units: int = 64,
    dropout: float = 0.3,
) -> keras.Model:
    """HybridMicroNet: ResNet-with-attention image branch + VGG-16 feature branch.

    Args:
        input_size: side of the square grayscale image input, px (method: 224).
        n_classes: softmax outputs.
        embedding_size: length of the feature-branch vector (VGG-16: 512).
        filters: widths of the attention stages.
        embedding_units: dense units of the feature branch.
        fusion_units: dense units after concatenating both branches.
        dropout: dropout rate before each dense layer's output.

    Returns:
        Uncompiled model with inputs ``{"image": (input_size, input_size, 1),
        "embedding": (embedding_size,)}`` and a float32 softmax output.
    """
    _check(input_size, n_classes)
    image = keras.Input((input_size, input_size, 1), name=IMAGE_INPUT)
    embedding = keras.Input((embedding_size,), name=EMBEDDING_INPUT)
    visual = image_branch(image, filters)
    features = standardiser("embedding_scale")(embedding)
    features = layers.Dense(embedding_units, activation="relu", name="embedding_dense")(
        features
    )
    features = layers.Dropout(dropout, name="embedding_dropout")(features)
    fused = layers.Concatenate(name="fusion")([visual, features])
    fused = layers.Dense(fusion_units, activation="relu", name="fusion_dense")(fused)
    fused = layers.Dropout(dropout, name="fusion_dropout")(fused)
    return keras.Model(
        {IMAGE_INPUT: image, EMBEDDING_INPUT: embedding},
        _softmax(fused, n_classes),
        name="hybrid_micronet",
    )


def build_ann(
    embedding_size: int = 512,
    n_classes: int = 5,
    hidden_units: Sequence[int] = (256,),
    dropout: float = 0.3,
) -> keras.Model:
    """The ANN baseline: an MLP on the (standardised) VGG-16 embedding."""
    _check(MIN_IMAGE_SIZE, n_classes)
    embedding = keras.Input((embedding_size,), name=EMBEDDING_INPUT)
    x = standardiser("embedding_scale")(embedding)
    for i, units in enumerate(hidden_units):
        x = layers.Dense(int(units), activation="relu", name=f"hidden{i + 1}")(x)
        x = layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    return keras.Model({EMBEDDING_INPUT: embedding}, _softmax(x, n_classes), name="ann")


def build_cnn(
    input_size: int = 224,
    n_classes: int = 5,
    filters: Sequence[int] = (16, 32, 64),
    dropout: float = 0.3,
    batch_norm_momentum: float = 0.9,
) -> keras.Model:
    """The CNN baseline: plain conv-BN-ReLU-pool stages on the face image, no attention.

    The first convolution has stride 2 (like HybridMicroNet's stem), so both
    image models cost about the same.

    ``batch_norm_momentum`` 0.9 (Keras' default is 0.99): the moving mean and
    variance that batch normalisation uses at prediction time must converge
    within the training budget. A few hundred steps (the demo's 10 epochs of
    ~17 batches) leave a 0.99 average mostly at its initial 0 / 1, so every
    test image fell into one class although the training-mode outputs
    separated them; 0.9 forgets the start within about 50 steps.
    """
    _check(input_size, n_classes)
    image = keras.Input((input_size, input_size, 1), name=IMAGE_INPUT)
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(image)
    for i, width in enumerate(filters):
        x = _conv_bn(
            x,
            int(width),
            3,
            2 if i == 0 else 1,
            f"block{i + 1}",
            batch_norm_momentum=batch_norm_momentum,
        )
        x = layers.ReLU(name=f"block{i + 1}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model({IMAGE_INPUT: image}, _softmax(x, n_classes), name="cnn")


def build_flow_cnn(
    grid: int = 28,
    n_channels: int = 3,
    n_classes: int = 3,
    branch_filters: Sequence[int] = (3, 5, 8),
) -> keras.Model:
    """STSTNet-like flow baseline (Liong et al. 2019) on onset->apex flow maps.

    Three parallel 3x3 convolution branches (3, 5 and 8 filters, ReLU), each
    max-pooled 3x3 with stride 3 and average-pooled 2x2, concatenated,
    flattened, softmax. Input ``(grid, grid, n_channels)``, e.g. u, v, strain;
    standardised per channel with the training fold's statistics.
    """
    _check(MIN_IMAGE_SIZE, n_classes)
    flow = keras.Input((grid, grid, n_channels), name=FLOW_INPUT)
    x = flow_branch(standardiser("flow_scale")(flow), branch_filters)
    return keras.Model({FLOW_INPUT: flow}, _softmax(x, n_classes), name="flow_cnn")


def flow_branch(x: Any, branch_filters: Sequence[int], prefix: str = "") -> Any:
    """STSTNet's parallel 3x3 convolutions, pooled, concatenated and flattened."""
    branches = []
    for width in branch_filters:
        b = layers.Conv2D(
            int(width),
            3,
            padding="same",
            activation="relu",
            name=f"{prefix}conv{width}",
        )(x)
        b = layers.MaxPooling2D(
            3, strides=3, padding="same", name=f"{prefix}pool{width}"
        )(b)
        b = layers.AveragePooling2D(2, padding="same", name=f"{prefix}avg{width}")(b)
        branches.append(b)
    x = layers.Concatenate(name=f"{prefix}branches")(branches)
    return layers.Flatten(name=f"{prefix}flatten")(x)


def build_onset_hybrid(  # noqa: PLR0913 - the variant's hyper-parameters
    shapes: dict[str, tuple[int, ...]],
    n_classes: int = 5,
    *,
    filters: Sequence[int] = (8, 16, 32),
    embedding_units: int = 64,
    branch_filters: Sequence[int] = (3, 5, 8),
    appearance_dropout: float = 0.5,
    fusion_weights: dict[str, float] | None = None,
) -> keras.Model:
    """HybridMicroNet on identity-normalised clip inputs, with late fusion.

    One branch per input in ``shapes`` (a subset of ``ONSET_BRANCHES``):

    - ``image_delta`` ``(S, S, 1)``: apex face image minus onset face image,
      standardised, through the lightweight residual-attention ResNet
      (:func:`image_branch`);
    - ``embedding_delta`` ``(E,)``: VGG-16 embedding of the apex crop minus
      that of the onset crop, standardised, one dense layer;
    - ``flow`` ``(grid, grid, C)``: onset->apex flow maps, standardised, the
      STSTNet-like branch of the flow baseline (:func:`flow_branch`).

    Each branch ends in its own softmax (output ``<input>_probabilities``),
    trained with its own loss, so no branch can take over the others'
    training signal; the model's output ``probabilities`` is their weighted
    mean (late fusion) with ``fusion_weights`` per branch (None: equal),
    normalised to sum 1, held in the non-trainable ``fusion`` layer
    (:func:`set_fusion_weights` changes them on a trained model). The weights change no head's training (each head has
    its own loss), only how the heads are combined. The appearance branches
    (image, embedding) get ``appearance_dropout`` before their softmax.

    Returns:
        Uncompiled model with a dict output: ``probabilities`` (what every
        consumer reads; no loss) and one ``<input>_probabilities`` per branch.
    """
    _check(MIN_IMAGE_SIZE, n_classes)
    unknown = sorted(set(shapes) - set(ONSET_BRANCHES))
    if not shapes or unknown:
        raise ValueError(
            f"onset hybrid branches {sorted(shapes)}: at least one of "
            f"{list(ONSET_BRANCHES)}, no other"
        )
    inputs, heads = {}, {}
    for name in ONSET_BRANCHES:
        if name not in shapes:
            continue
        tensor = keras.Input(tuple(shapes[name]), name=name)
        inputs[name] = tensor
        x = standardiser(f"{name}_scale")(tensor)
        if name == IMAGE_DELTA_INPUT:
            _check(int(shapes[name][0]), n_classes)
            x = image_branch(x, filters, name="delta_resnet", rescale=False)
        elif name == EMBEDDING_DELTA_INPUT:
            x = layers.Dense(
                int(embedding_units), activation="relu", name=f"{name}_dense"
            )(x)
        else:
            x = flow_branch(x, branch_filters, prefix="flow_")
        if name != FLOW_INPUT:
            x = layers.Dropout(appearance_dropout, name=f"{name}_dropout")(x)
        x = layers.Dense(n_classes, name=f"{name}_logits")(x)
        heads[f"{name}_{PROBABILITIES}"] = layers.Activation(
            "softmax", dtype="float32", name=f"{name}_{PROBABILITIES}"
        )(x)
    # the heads stacked on a last axis, mixed by a non-trainable Dense: the
    # weights live in the saved model and can be set after training
    # (set_fusion_weights), e.g. once chosen on validation subjects
    stacked = layers.Concatenate(axis=-1, dtype="float32", name="heads")(
        [
            layers.Reshape((n_classes, 1), dtype="float32", name=f"{name}_column")(
                heads[f"{name}_{PROBABILITIES}"]
            )
            for name in inputs
        ]
    )
    mixed = layers.Dense(
        1, use_bias=False, trainable=False, dtype="float32", name=FUSION_LAYER
    )(stacked)
    fused = layers.Reshape((n_classes,), dtype="float32", name=PROBABILITIES)(mixed)
    model = keras.Model(inputs, {PROBABILITIES: fused, **heads}, name="onset_hybrid")
    set_fusion_weights(model, fusion_weights or {})
    return model


def fusion_branches(model: keras.Model) -> list[str]:
    """The branches an onset HybridMicroNet fuses, in its fusion layer's order."""
    return [
        name for name in ONSET_BRANCHES if f"{name}_{PROBABILITIES}" in model.output
    ]


def set_fusion_weights(
    model: keras.Model, weights: dict[str, float]
) -> dict[str, float]:
    """Set the late-fusion weights (branches not named: 1), normalised to sum 1.

    Returns:
        The normalised weights per branch, as set.
    """
    branches = fusion_branches(model)
    raw = {name: 1.0 for name in branches} | {
        name: float(value) for name, value in weights.items() if name in branches
    }
    total = sum(raw.values())
    if total <= 0 or any(value < 0 for value in raw.values()):
        raise ValueError(f"fusion_weights {weights}: non-negative, some branch above 0")
    normalised = {name: raw[name] / total for name in branches}
    kernel = np.array([[normalised[name]] for name in branches], np.float32)
    model.get_layer(FUSION_LAYER).set_weights([kernel])
    return normalised

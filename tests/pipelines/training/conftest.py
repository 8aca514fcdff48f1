"""Training-stage fixtures: small ModelInputs built in memory, tiny model parameters."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from me_emotion.pipelines.training.inputs import ACTION_UNITS, ModelInputs
from me_emotion.pipelines.training.nodes import evaluate_model
from me_emotion.pipelines.training.pipeline import SHARED_PARAMETERS
from tests.conftest import PROJECT_ROOT, TINY_MODELS

CLASSES = ("negative", "positive", "surprise")
# AUs that define each class (and make au_enhanced learnable)
CLASS_AUS = {
    "negative": ["AU4", "AU7"],
    "positive": ["AU6", "AU12"],
    "surprise": ["AU1", "AU2"],
}


def make_inputs(
    labels_by_subject: dict[str, list[str]] | None = None,
    *,
    frames: int = 3,
    variants: int = 1,
    image_size: int = 32,
    embedding_size: int = 16,
    grid: int = 8,
    seed: int = 0,
    dataset: str = "casme2",
) -> ModelInputs:
    """Fake inputs whose embeddings and flow carry the class (plus noise).

    ``labels_by_subject``: each subject's clip labels; default 4 subjects with
    one clip of each class.
    """
    rng = np.random.default_rng(seed)
    if labels_by_subject is None:
        labels_by_subject = {f"s{i}": list(CLASSES) for i in range(4)}
    clip_rows = [
        (subject, f"{subject}_c{j}", label)
        for subject, labels in labels_by_subject.items()
        for j, label in enumerate(labels)
    ]
    m = len(clip_rows)
    clip_y = np.array([CLASSES.index(label) for _, _, label in clip_rows], np.int64)
    action_units = np.zeros((m, len(ACTION_UNITS)), np.uint8)
    for i, (_, _, label) in enumerate(clip_rows):
        for code in CLASS_AUS[label]:
            action_units[i, ACTION_UNITS.index(code)] = 1
    flow = rng.normal(0, 1, (m, grid, grid, 4)).astype(np.float32)
    flow[..., 0] += clip_y[:, None, None] - 1.0  # u carries the class
    sample_clip, frame, position, aug = [], [], [], []
    for i in range(m):
        for a in range(variants + 1):
            for p in range(frames):
                sample_clip.append(i)
                frame.append(100 + 10 * p)
                position.append(p)
                aug.append(a)
    sample_clip = np.array(sample_clip, np.int64)
    n = len(sample_clip)
    embeddings = rng.normal(0, 1, (n, embedding_size)).astype(np.float32)
    embeddings[np.arange(n), clip_y[sample_clip] % embedding_size] += 3.0
    # onset/apex: a subject-like offset shared by both, the class in the change
    onset_embedding = rng.normal(0, 1, (m, embedding_size)).astype(np.float32)
    apex_embedding = onset_embedding.copy()
    apex_embedding[np.arange(m), clip_y % embedding_size] += 3.0
    onset_image = rng.integers(60, 150, (m, image_size, image_size), dtype=np.uint8)
    apex_image = onset_image.copy()
    apex_image[:, : image_size // 2] += (clip_y[:, None, None] * 20).astype(np.uint8)
    return ModelInputs(
        classes=np.array(CLASSES),
        sample_clip=sample_clip,
        sample_frame=np.array(frame, np.int64),
        sample_position=np.array(position, np.int64),
        sample_aug_id=np.array(aug, np.int64),
        embeddings=embeddings,
        images=rng.integers(0, 256, (n, image_size, image_size), dtype=np.uint8),
        clip_partition=np.array([f"{s}/{c}" for s, c, _ in clip_rows]),
        clip_subject=np.array([s for s, _, _ in clip_rows]),
        clip_name=np.array([c for _, c, _ in clip_rows]),
        clip_dataset=np.array([dataset] * m),
        clip_source=np.array(["synthetic"] * m),
        clip_label=np.array([label for _, _, label in clip_rows]),
        clip_y=clip_y,
        action_units=action_units,
        flow=flow,
        flow_frame=np.full(m, 110, np.int64),
        onset_embedding=onset_embedding,
        apex_embedding=apex_embedding,
        onset_image=onset_image,
        apex_image=apex_image,
        embedding_weights=np.array("random (untrained)"),
    )


def project_training_block(namespace: str = "casme2") -> dict:
    """A namespace's training block of conf/base, as YAML gives it."""
    conf = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/parameters_training.yml").read_text()
    )
    return conf[namespace]["training"]


@pytest.fixture(scope="session")
def project_training_params() -> dict:
    """The project's casme2 training block, as YAML gives it."""
    return project_training_block("casme2")


@pytest.fixture
def params(project_training_params) -> dict:
    """The project's training block with tiny models and the fake data's classes."""
    block = copy.deepcopy(project_training_params)
    block["classes"] = list(CLASSES)
    block["image"] = {"size": 32, "border_px": 1}
    block["precision"] = "float32"
    block["models"] = copy.deepcopy(TINY_MODELS)
    return block


@pytest.fixture
def inputs() -> ModelInputs:
    return make_inputs()


# the run_environment dataset's value on a CPU without bf16 units: float32
RUN_ENVIRONMENT = {"packages": {}, "cpu": {"model": "test", "flags": []}}


def shared_parameters(params: dict) -> list:
    """The values of a training block that every ``train_<model>`` node receives,
    in the pipeline's order (``pipeline.SHARED_PARAMETERS``)."""
    return [params[name.removeprefix("params:training.")] for name in SHARED_PARAMETERS]


def evaluate(name: str, inputs: ModelInputs, folds, params: dict):
    """``evaluate_model`` as the ``train_<name>`` node calls it."""
    return evaluate_model(
        name,
        inputs.to_arrays(),
        folds,
        params["models"][name],
        *shared_parameters(params),
        RUN_ENVIRONMENT,
    )


def parameter_feed(name: str, value) -> dict:
    """``{"params:a": .., "params:a.b": ..}``: a block and its nested keys, as
    Kedro's context feeds them to a pipeline run."""
    feed = {f"params:{name}": value}
    if isinstance(value, dict):
        for key, item in value.items():
            feed |= parameter_feed(f"{name}.{key}", item)
    return feed

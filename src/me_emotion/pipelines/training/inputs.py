"""The training stage's inputs: one bundle of arrays per dataset (or the composite).

:class:`ModelInputs` holds everything a model of this stage reads, in memory
and as plain arrays (stored as ``{namespace}.model_inputs``, an ``.npz``):

- **frame samples** (one per clip x sampled frame x ``aug_id``, the rows of
  ``vgg_embeddings``): the 512-d embedding and the face image at the image
  branch's size (rebuilt from the crops with the feature stage's own
  augmentation, so ``aug_id`` k is the same variant the embedding saw);
- **clips**: subject (the LOSO group), label, data source, the annotated Action
  Units as a multi-hot vector, the onset->apex flow maps, and the VGG-16
  embeddings and model images of the flow's onset and apex crops (the
  onset-relative HybridMicroNet reads apex minus onset: :func:`apex_minus_onset`).

Labels come either from the clip index's task label (``class_map: null``) or
from its raw ``emotion`` through ``class_map``. The composite uses the first:
its parts read clip indexes relabelled from ``composite.clip_labels``
(``composite.py``), so the MEGC 2019 list or per-dataset class maps decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.augmentation import image_settings, model_images
from me_emotion.core.clip_frames import ClipFrames, onset_apex_positions
from me_emotion.core.flow import FLOW_CHANNELS
from me_emotion.core.vgg16 import EMBEDDING_COLUMNS
from me_emotion.progress import ProgressLog

logger = logging.getLogger(__name__)

# FACS action units 1..64: the multi-hot vocabulary of annotated AUs. Fixed, so
# nothing about it is fitted; codes outside it are logged and ignored.
ACTION_UNITS = tuple(f"AU{i}" for i in range(1, 65))


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """Arrays of one dataset's training inputs.

    Frame-sample arrays have ``n`` rows, clip arrays ``m``; ``sample_clip`` maps
    each sample to its clip's row. Strings are numpy unicode arrays.
    """

    classes: np.ndarray  # (K,) class names, the order of every probability column
    # ---- frame samples -------------------------------------------------------
    sample_clip: np.ndarray  # (n,) int64 row in the clip arrays
    sample_frame: np.ndarray  # (n,) int64 absolute frame number
    sample_position: np.ndarray  # (n,) int64 position in the clip's crops
    sample_aug_id: np.ndarray  # (n,) int64, 0 = original
    embeddings: np.ndarray  # (n, 512) float32 VGG-16
    images: np.ndarray  # (n, size, size) uint8 face images for the image branch
    # ---- clips -----------------------------------------------------------------
    clip_partition: np.ndarray  # (m,) "subject/clip", dataset-prefixed in the composite
    clip_subject: np.ndarray  # (m,) LOSO group
    clip_name: np.ndarray  # (m,)
    clip_dataset: np.ndarray  # (m,)
    clip_source: np.ndarray  # (m,) synthetic | real
    clip_label: np.ndarray  # (m,) class name
    clip_y: np.ndarray  # (m,) int64 index into classes
    action_units: np.ndarray  # (m, 64) uint8 multi-hot of ACTION_UNITS (annotated)
    flow: np.ndarray  # (m, grid, grid, 4) float32 u, v, magnitude, strain
    flow_frame: np.ndarray  # (m,) int64 the flow's end (apex) frame
    onset_embedding: np.ndarray  # (m, 512) float32 VGG-16 of the flow's onset crop
    apex_embedding: np.ndarray  # (m, 512) float32 VGG-16 of the flow's apex crop
    onset_image: np.ndarray  # (m, size, size) uint8 model image of the onset crop
    apex_image: np.ndarray  # (m, size, size) uint8 model image of the apex crop
    embedding_weights: np.ndarray  # () the VGG-16 weights of the embeddings

    @property
    def sample_y(self) -> np.ndarray:
        return self.clip_y[self.sample_clip]

    @property
    def sample_subject(self) -> np.ndarray:
        return self.clip_subject[self.sample_clip]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(value) for name, value in asdict(self).items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ModelInputs:
        names = [f.name for f in fields(cls)]
        missing = sorted(set(names) - set(arrays))
        if missing:
            raise ValueError(
                f"model inputs lack {missing}: they were written by another version "
                "of the training stage; re-run its assemble_model_inputs node"
            )
        return cls(**{name: arrays[name] for name in names})

    def clips_table(self) -> pd.DataFrame:
        """One row per clip: partition, subject, clip, dataset, source, label, y."""
        return pd.DataFrame(
            {
                "partition": self.clip_partition,
                "subject": self.clip_subject,
                "clip": self.clip_name,
                "dataset": self.clip_dataset,
                "data_source": self.clip_source,
                "label": self.clip_label,
                "y": self.clip_y,
            }
        )


def apex_minus_onset(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """``apex - onset`` as float32: the clip's change from its own onset frame.

    Whatever both frames share (the person's face, lighting, a subject-constant
    offset) cancels; uint8 images are widened first, so nothing wraps around.
    """
    return np.asarray(apex, np.float32) - np.asarray(onset, np.float32)


def parse_classes(params: dict[str, Any]) -> tuple[list[str], dict[str, str] | None]:
    """``(classes, class_map)`` of a training block, checked.

    Raises:
        ValueError: fewer than two classes, duplicates, or a ``class_map`` value
            outside ``classes``.
    """
    classes = [str(c) for c in params["classes"]]
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValueError(
            f"training.classes must list at least two distinct classes, got {classes}"
        )
    class_map = params.get("class_map")
    if class_map is None:
        return classes, None
    mapping = {
        str(k).strip().lower(): (None if v is None else str(v))
        for k, v in class_map.items()
    }
    unknown = sorted({v for v in mapping.values() if v is not None} - set(classes))
    if unknown:
        raise ValueError(
            f"training.class_map maps to {unknown}, which are not in training.classes "
            f"{classes}"
        )
    return classes, mapping


def multi_hot(codes: Any) -> np.ndarray:
    """``(64,)`` uint8 multi-hot of a clip's AU codes (``["AU4", "AU7"]``)."""
    vector = np.zeros(len(ACTION_UNITS), np.uint8)
    for code in [] if codes is None else list(codes):
        try:
            vector[ACTION_UNITS.index(str(code).upper())] = 1
        except ValueError:
            logger.warning("Action unit code %r is outside AU1..AU64: ignored", code)
    return vector


def _clip_labels(
    clips: pd.DataFrame, classes: list[str], class_map: dict[str, str] | None
) -> pd.Series:
    """Each clip's class (None: left out), from ``label`` or mapped ``emotion``."""
    if class_map is None:
        labels = clips["label"]
        outside = sorted(set(labels.dropna()) - set(classes))
        if outside:
            raise ValueError(
                f"clips are labelled {outside}, which are not in training.classes "
                f"{classes}: make training.classes match the data_ingestion class set "
                "(conf/base/parameters_training.yml)"
            )
        return labels.where(labels.notna(), None)
    raw = clips["emotion"].astype(str).str.strip().str.lower()
    unmapped = sorted(set(raw) - set(class_map))
    if unmapped:
        logger.info(
            "Emotions %s are not in training.class_map: those clips are left out",
            unmapped,
        )
    return raw.map(class_map.get)


def check_every_class_has_clips(inputs: ModelInputs) -> None:
    """Raise if a class of ``inputs.classes`` has no clip (UF1/UAR need every class)."""
    counts = pd.Series(inputs.clip_label).value_counts()
    empty = [c for c in inputs.classes.tolist() if counts.get(c, 0) == 0]
    if empty:
        raise ValueError(
            f"class(es) {empty} of training.classes have no clips (clips per class: "
            f"{counts.to_dict()}); a class without clips makes UF1/UAR meaningless. "
            "Drop it from training.classes (conf/base/parameters_training.yml) or "
            "use more data."
        )


def _load(
    face_crops: dict[str, Callable[[], ClipFrames]], partition: str
) -> ClipFrames:
    if partition not in face_crops:
        raise KeyError(
            f"vgg_embeddings lists clip {partition} but face_crops has no such "
            "partition; re-run the face_detection and feature_extraction nodes"
        )
    return face_crops[partition]()


def assemble_inputs(  # noqa: PLR0913, PLR0917 - the node's inputs, passed on as they come
    clip_index: pd.DataFrame,
    vgg_embeddings: pd.DataFrame,
    flow_features: dict[str, np.ndarray],
    face_crops: dict[str, Callable[[], ClipFrames]],
    feature_params: dict[str, Any],
    params: dict[str, Any],
    onset_apex_embeddings: dict[str, np.ndarray] | None = None,
    flow_crops: dict[str, Callable[[], ClipFrames]] | None = None,
) -> ModelInputs:
    """Join embeddings, flow, AUs and labels of every usable clip; rebuild its images.

    Raises:
        ValueError: labels outside ``classes``, a class without clips, or
            features of different clips in the embeddings and the flow.
    """
    classes, class_map = parse_classes(params)
    dataset = str(clip_index["dataset"].iloc[0]) if len(clip_index) else "(empty)"
    keys = vgg_embeddings[["dataset", "subject", "clip", "partition"]].drop_duplicates(
        "partition"
    )
    clips = keys.merge(
        clip_index[["subject", "clip", "source", "label", "emotion", "au_codes"]],
        on=["subject", "clip"],
        how="left",
        validate="one_to_one",
        indicator=True,
    )
    stale = clips.loc[clips["_merge"] != "both", "partition"].tolist()
    if stale:
        raise ValueError(
            f"{dataset}: clips {stale[:5]} have embeddings but are not in the clip "
            "index; the feature stage is out of step: re-run it"
        )
    clips["task_label"] = _clip_labels(clips, classes, class_map)
    left_out = int(clips["task_label"].isna().sum())
    if left_out:
        logger.info(
            "%s: %d featurised clip(s) have no class here and are left out",
            dataset,
            left_out,
        )
    clips = (
        clips[clips["task_label"].notna()]
        .sort_values("partition")
        .reset_index(drop=True)
    )

    flow_rows = {str(p): i for i, p in enumerate(flow_features["partition"])}
    no_flow = sorted(set(clips["partition"]) - set(flow_rows))
    if no_flow:
        raise ValueError(
            f"{dataset}: clips {no_flow[:5]} have embeddings but no flow features; "
            "re-run the feature_extraction pipeline (both outputs come from the same crops)"
        )
    channels = [str(c) for c in flow_features["channels"]]
    order = [channels.index(c) for c in FLOW_CHANNELS]
    take = [flow_rows[p] for p in clips["partition"]]
    flow = np.asarray(flow_features["features"])[take][:, order].transpose(0, 2, 3, 1)

    row_of = {p: i for i, p in enumerate(clips["partition"])}
    samples = (
        vgg_embeddings[vgg_embeddings["partition"].isin(row_of)]
        .sort_values(["partition", "aug_id", "position"])
        .reset_index(drop=True)
    )
    image = image_settings(params, feature_params)
    images = np.zeros((len(samples), image["size"], image["size"]), np.uint8)
    progress = ProgressLog(
        f"{dataset} assemble_model_inputs ({image['size']} px images)",
        len(clips),
        float(params["progress_every_s"]),
        logger,
    )
    for partition, rows in samples.groupby("partition", sort=False):
        crops = _load(face_crops, str(partition))
        for aug_id, aug_rows in rows.groupby("aug_id", sort=False):
            built = model_images(
                crops.frames,
                str(partition),
                int(aug_id),
                feature_params["augmentation"],
                image,
            )
            images[aug_rows.index.to_numpy()] = built[aug_rows["position"].to_numpy()]
        progress.step()

    onset_apex = _onset_apex(
        clips["partition"].tolist(),
        onset_apex_embeddings,
        flow_crops,
        feature_params,
        image,
        dataset,
    )
    return ModelInputs(
        classes=np.array(classes),
        sample_clip=samples["partition"].map(row_of).to_numpy(np.int64),
        sample_frame=samples["frame"].to_numpy(np.int64),
        sample_position=samples["position"].to_numpy(np.int64),
        sample_aug_id=samples["aug_id"].to_numpy(np.int64),
        embeddings=samples[EMBEDDING_COLUMNS].to_numpy(np.float32),
        images=images,
        clip_partition=clips["partition"].to_numpy(str),
        clip_subject=clips["subject"].to_numpy(str),
        clip_name=clips["clip"].to_numpy(str),
        clip_dataset=clips["dataset"].to_numpy(str),
        clip_source=clips["source"].fillna("unknown").to_numpy(str),
        clip_label=clips["task_label"].to_numpy(str),
        clip_y=clips["task_label"]
        .map({c: i for i, c in enumerate(classes)})
        .to_numpy(np.int64),
        action_units=np.stack([multi_hot(c) for c in clips["au_codes"]])
        if len(clips)
        else np.zeros((0, len(ACTION_UNITS)), np.uint8),
        flow=np.ascontiguousarray(flow, dtype=np.float32),
        flow_frame=np.asarray(flow_features["flow_to"])[take].astype(np.int64),
        **onset_apex,
        embedding_weights=np.array(
            "; ".join(sorted(set(samples["weights"].astype(str))))
            if "weights" in samples
            else "unknown"
        ),
    )


def _onset_apex(  # noqa: PLR0913, PLR0917 - one clip list, its sources and settings
    partitions: list[str],
    embeddings: dict[str, np.ndarray] | None,
    flow_crops: dict[str, Callable[[], ClipFrames]] | None,
    feature_params: dict[str, Any],
    image: dict[str, int],
    dataset: str,
) -> dict[str, np.ndarray]:
    """Onset and apex embeddings (from ``onset_apex_embeddings``) and model images
    (rebuilt from ``flow_crops``, untouched, at the image branch's size) per clip.

    Without those inputs (older callers) the arrays are zeros, so apex minus
    onset is 0 and the onset-relative model learns nothing from them.
    """
    m, size = len(partitions), int(image["size"])
    width = (
        np.asarray(embeddings["onset_embedding"]).shape[1]
        if embeddings is not None
        else len(EMBEDDING_COLUMNS)
    )
    out = {
        "onset_embedding": np.zeros((m, width), np.float32),
        "apex_embedding": np.zeros((m, width), np.float32),
        "onset_image": np.zeros((m, size, size), np.uint8),
        "apex_image": np.zeros((m, size, size), np.uint8),
    }
    if embeddings is not None:
        rows = {str(p): i for i, p in enumerate(embeddings["partition"])}
        missing = sorted(set(partitions) - set(rows))
        if missing:
            raise ValueError(
                f"{dataset}: clips {missing[:5]} have no onset/apex embeddings "
                "(onset_apex_embeddings); re-run the feature_extraction pipeline"
            )
        take = [rows[p] for p in partitions]
        out["onset_embedding"] = np.asarray(embeddings["onset_embedding"])[take]
        out["apex_embedding"] = np.asarray(embeddings["apex_embedding"])[take]
    if flow_crops is not None:
        for i, partition in enumerate(partitions):
            if partition not in flow_crops:
                raise KeyError(
                    f"{dataset}: clip {partition} has no flow crops; re-run the "
                    "face_detection nodes"
                )
            crops = flow_crops[partition]()
            start, apex = onset_apex_positions(crops)
            pair = model_images(
                crops.frames[[start, apex]],
                partition,
                0,
                feature_params["augmentation"],
                image,
            )
            out["onset_image"][i], out["apex_image"][i] = pair
    return out


def join_inputs(parts: dict[str, ModelInputs]) -> ModelInputs:
    """Several datasets' inputs as one; subjects and partitions get a dataset prefix.

    ``casme2`` subject ``sub01`` becomes ``casme2/sub01``, so LOSO groups never
    merge across datasets.

    Raises:
        ValueError: the parts disagree on classes, image size or flow grid.
    """
    names = list(parts)
    first = parts[names[0]]
    for name in names[1:]:
        other = parts[name]
        if other.classes.tolist() != first.classes.tolist():
            raise ValueError(
                f"{name} has classes {other.classes.tolist()}, {names[0]} {first.classes.tolist()}"
            )
        if (
            other.images.shape[1:] != first.images.shape[1:]
            or other.flow.shape[1:] != first.flow.shape[1:]
        ):
            raise ValueError(
                f"{name} and {names[0]} differ in image size {other.images.shape[1:]} vs "
                f"{first.images.shape[1:]} or flow grid {other.flow.shape[1:]} vs "
                f"{first.flow.shape[1:]}: use the same feature_extraction settings for both"
            )
    offsets = np.cumsum([0] + [len(parts[n].clip_y) for n in names[:-1]])

    def cat(attribute: str) -> np.ndarray:
        return np.concatenate([getattr(parts[n], attribute) for n in names])

    def prefixed(attribute: str) -> np.ndarray:
        return np.concatenate(
            [
                np.char.add(f"{n}/", getattr(parts[n], attribute).astype(str))
                for n in names
            ]
        )

    weights = sorted({str(parts[n].embedding_weights) for n in names})
    if len(weights) > 1:
        logger.warning(
            "The datasets' embeddings come from different VGG-16 weights: %s", weights
        )
    return ModelInputs(
        classes=first.classes,
        sample_clip=np.concatenate(
            [parts[n].sample_clip + off for n, off in zip(names, offsets)]
        ),
        sample_frame=cat("sample_frame"),
        sample_position=cat("sample_position"),
        sample_aug_id=cat("sample_aug_id"),
        embeddings=cat("embeddings"),
        images=cat("images"),
        clip_partition=prefixed("clip_partition"),
        clip_subject=prefixed("clip_subject"),
        clip_name=cat("clip_name"),
        clip_dataset=cat("clip_dataset"),
        clip_source=cat("clip_source"),
        clip_label=cat("clip_label"),
        clip_y=cat("clip_y"),
        action_units=cat("action_units"),
        flow=cat("flow"),
        flow_frame=cat("flow_frame"),
        onset_embedding=cat("onset_embedding"),
        apex_embedding=cat("apex_embedding"),
        onset_image=cat("onset_image"),
        apex_image=cat("apex_image"),
        embedding_weights=np.array("; ".join(weights)),
    )

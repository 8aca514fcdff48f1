from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from me_emotion.core.clip_frames import ClipFrames
from me_emotion.fingerprint import Fingerprinted
from me_emotion.pipelines.feature_extraction.nodes import (
    EMBEDDING_COLUMNS,
    embed_face_crops,
    extract_flow_features,
    select_composite_clips,
)

PARAMS = {
    "vgg16_weights": None,
    "precision": "float32",
    "batch_size": 4,
    "execution": "graph",
    "workers": 2,
    "seed": 1,
    "labelled_only": True,
    "image": {"size": 32, "border_px": 1},
    "augmentation": {
        "variants": 2,
        "seed": 3,
        "flip_probability": 0.5,
        "max_rotation_deg": 10.0,
        "scale_range": [0.9, 1.1],
    },
    "flow": {"method": "farneback", "grid": 8},
    "progress_every_s": 10,
}


def clip(onset: int, apex: int, numbers: list[int], seed: int) -> ClipFrames:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(len(numbers), 64, 64), dtype=np.uint8)
    return ClipFrames(frames, np.array(numbers, np.int64), onset, apex, numbers[-1] + 5)


@pytest.fixture
def crops_and_boxes():
    clips = {
        "sub01/EP01": clip(10, 20, [10, 20, 30], 0),
        "sub01/EP02": clip(5, 40, [20, 40, 60], 1),  # onset not sampled
        "sub02/EP01": clip(1, 3, [1, 3], 2),
        "sub02/EP09": clip(1, 3, [1, 3], 3),  # outside the class set
    }
    boxes = pd.DataFrame(
        {
            "dataset": "casme2",
            "subject": [p.split("/")[0] for p in clips],
            "clip": [p.split("/")[1] for p in clips],
            "partition": list(clips),
            "label": ["happiness", "others", "surprise", None],
        }
    )
    loaders = {key: (lambda value=value: value) for key, value in clips.items()}
    return loaders, boxes


def test_embeddings_table(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    table = embed_face_crops(loaders, boxes, PARAMS)
    assert len(table) == (3 + 3 + 2) * 3  # frames x (original + 2 variants)
    assert set(table["aug_id"]) == {0, 1, 2}
    assert "sub02/EP09" not in set(table["partition"])
    assert table[EMBEDDING_COLUMNS].to_numpy().dtype == np.float32
    assert (table["weights"] == "random (untrained)").all()
    assert (table["precision"] == "float32").all()
    ep01 = table[(table["partition"] == "sub01/EP01") & (table["aug_id"] == 0)]
    assert ep01["frame"].tolist() == [10, 20, 30]
    assert ep01["is_apex"].tolist() == [False, True, False]
    assert (table.groupby("partition")["label"].nunique() == 1).all()


def test_embeddings_are_deterministic(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    first = embed_face_crops(loaders, boxes, PARAMS)
    again = embed_face_crops(loaders, boxes, PARAMS)
    assert np.allclose(first[EMBEDDING_COLUMNS], again[EMBEDDING_COLUMNS], atol=1e-5)


def test_flow_features(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    flow = extract_flow_features(loaders, boxes, PARAMS)
    assert flow["features"].shape == (3, 4, 8, 8)
    assert flow["partition"].tolist() == ["sub01/EP01", "sub01/EP02", "sub02/EP01"]
    assert flow["flow_from"].tolist() == [10, 20, 1]  # EP02: earliest frame, no onset
    assert flow["flow_to"].tolist() == [20, 40, 3]
    assert flow["channels"].tolist() == ["u", "v", "magnitude", "strain"]


def test_composite_clips_are_featurised_outside_the_class_set(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    composite = pd.DataFrame({"subject": ["sub02"], "clip": ["EP09"]})
    flow = extract_flow_features(loaders, boxes, PARAMS, None, composite)
    assert "sub02/EP09" in flow["partition"].tolist()
    assert len(flow["partition"]) == 4
    # without labelled_only every cropped clip is featurised anyway
    everything = extract_flow_features(
        loaders, boxes, {**PARAMS, "labelled_only": False}
    )
    assert len(everything["partition"]) == 4


def test_samm_negatives_outside_its_five_classes_are_composite_clips():
    index = pd.DataFrame(
        {
            "dataset": "samm",
            "subject": ["006", "006", "007", "007", "007"],
            "clip": ["006_1", "006_2", "007_1", "007_2", "007_3"],
            "label": [None, None, None, "anger", "other"],  # five-class set
            "emotion": ["Disgust", "Fear", "Sadness", "Anger", "Other"],
        }
    )
    labels = {
        "class_maps": {
            "samm": {
                "disgust": "negative",
                "fear": "negative",
                "sadness": "negative",
                "anger": "negative",
            }
        }
    }
    chosen = select_composite_clips(index, None, labels)
    assert chosen["clip"].tolist() == ["006_1", "006_2", "007_1", "007_2"]
    listed = pd.DataFrame(
        [["samm", "7", "007_3", "1"], ["casme2", "sub01", "EP01", "0"]],
        columns=["dataset", "subject", "clip", "label"],
    )  # with a list: its own rows only, whatever the emotion
    chosen = select_composite_clips(index, listed, labels)
    assert list(zip(chosen["subject"], chosen["clip"])) == [("007", "007_3")]
    # a dataset outside the composite runs on, with no composite clip
    other = select_composite_clips(index.assign(dataset="smic"), None, labels)
    assert other.empty


def test_partition_missing_from_the_crops(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    del loaders["sub01/EP02"]
    with pytest.raises(KeyError, match="re-run the face_detection"):
        extract_flow_features(loaders, boxes, PARAMS)


def _fingerprinted(loaders):
    return {key: Fingerprinted(load, f"crops-{key}") for key, load in loaders.items()}


def test_batches_across_clips_match_each_clip_embedded_alone(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    together = embed_face_crops(loaders, boxes, {**PARAMS, "batch_size": 5})
    alone = pd.concat(
        [
            embed_face_crops(loaders, boxes[boxes["partition"] == p], PARAMS)
            for p in together["partition"].unique()
        ],
        ignore_index=True,
    )
    assert together[["partition", "aug_id", "frame"]].equals(
        alone[["partition", "aug_id", "frame"]]
    )
    assert np.allclose(together[EMBEDDING_COLUMNS], alone[EMBEDDING_COLUMNS], atol=1e-5)


class CountingLoads:
    """Fingerprinted loaders that count which clips were loaded."""

    def __init__(self, loaders):
        self.loaded: list[str] = []
        self.values = {
            key: Fingerprinted(self._counting(key, load), f"crops-{key}")
            for key, load in loaders.items()
        }

    def _counting(self, key, load):
        def counted():
            self.loaded.append(key)
            return load()

        return counted


def test_embeddings_reuse_unchanged_clips_and_compute_new_ones(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    first = embed_face_crops(_fingerprinted(loaders), boxes[:2], PARAMS)
    assert first["clip_fingerprint"].notna().all()

    counting = CountingLoads(loaders)
    again = embed_face_crops(counting.values, boxes, PARAMS, previous=first)
    assert set(counting.loaded) == {"sub02/EP01"}  # only the new clip
    fresh = embed_face_crops(_fingerprinted(loaders), boxes, PARAMS)
    assert again[["partition", "aug_id", "frame"]].equals(
        fresh[["partition", "aug_id", "frame"]]
    )
    assert np.allclose(again[EMBEDDING_COLUMNS], fresh[EMBEDDING_COLUMNS], atol=1e-5)

    unchanged = CountingLoads(loaders)
    embed_face_crops(unchanged.values, boxes, PARAMS, previous=again)
    assert unchanged.loaded == []

    changed_setting = CountingLoads(loaders)
    image = {"size": 32, "border_px": 2}
    embed_face_crops(
        changed_setting.values, boxes, {**PARAMS, "image": image}, previous=again
    )
    assert sorted(set(changed_setting.loaded)) == [
        "sub01/EP01",
        "sub01/EP02",
        "sub02/EP01",
    ]


def test_flow_reuses_unchanged_clips(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    first = extract_flow_features(_fingerprinted(loaders), boxes, PARAMS)
    counting = CountingLoads(loaders)
    again = extract_flow_features(counting.values, boxes, PARAMS, previous=first)
    assert counting.loaded == []
    assert np.array_equal(again["features"], first["features"])
    assert again["flow_from"].tolist() == first["flow_from"].tolist()

    counting = CountingLoads(loaders)
    flow = {"method": "farneback", "grid": 4}
    smaller = extract_flow_features(
        counting.values, boxes, {**PARAMS, "flow": flow}, previous=first
    )
    assert len(set(counting.loaded)) == 3
    assert smaller["features"].shape == (3, 4, 4, 4)

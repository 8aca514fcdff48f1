from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from me_emotion.core.clip_frames import ClipFrames
from me_emotion.core.vgg16 import RANDOM_WEIGHTS, Vgg16Weights, build_vgg16, embed
from me_emotion.fingerprint import Fingerprinted
from me_emotion.pipelines.feature_extraction import create_pipeline
from me_emotion.pipelines.feature_extraction.nodes import (
    EMBEDDING_COLUMNS,
    embed_face_crops,
    extract_flow_features,
    select_composite_clips,
)

PARAMS = {
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


NO_BF16 = {"packages": {}, "cpu": {"model": "test CPU", "flags": ["avx2"]}}


def embed_crops(  # noqa: PLR0913 - the node's inputs, with test defaults
    loaders,
    boxes,
    params,
    *,
    previous=None,
    weights=RANDOM_WEIGHTS,
    environment=NO_BF16,
):
    return embed_face_crops(loaders, boxes, weights, environment, params, previous)


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
    table = embed_crops(loaders, boxes, PARAMS)
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
    first = embed_crops(loaders, boxes, PARAMS)
    again = embed_crops(loaders, boxes, PARAMS)
    assert np.allclose(first[EMBEDDING_COLUMNS], again[EMBEDDING_COLUMNS], atol=1e-5)


def test_flow_features(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    flow = extract_flow_features(loaders, boxes, PARAMS)
    assert flow["features"].shape == (3, 4, 8, 8)
    assert flow["partition"].tolist() == ["sub01/EP01", "sub01/EP02", "sub02/EP01"]
    # EP02's crops lack its onset (a faceless onset dropped): the earliest kept frame
    assert flow["flow_from"].tolist() == [10, 20, 1]
    assert flow["flow_to"].tolist() == [20, 40, 3]
    assert flow["channels"].tolist() == ["u", "v", "magnitude", "strain"]


def test_flow_starts_at_the_annotated_onset_the_sampled_window_missed(crops_and_boxes):
    """face_crops of a paper-like window (no onset); flow_crops hold onset and apex."""
    _, boxes = crops_and_boxes
    window = clip(5, 40, [20, 40, 60], 1)  # what face_crops hold for sub01/EP02
    onset_frame = np.roll(window.frames[1], 3, axis=1)  # some motion onset -> apex
    flow_crops = {
        "sub01/EP01": lambda: clip(10, 20, [10, 20], 0),
        "sub01/EP02": lambda: ClipFrames(
            np.stack([onset_frame, window.frames[1]]),
            np.array([5, 40], np.int64),
            5,
            40,
            65,
        ),
        "sub02/EP01": lambda: clip(1, 3, [1, 3], 2),
    }
    flow = extract_flow_features(flow_crops, boxes, PARAMS)
    assert flow["flow_from"].tolist() == [10, 5, 1]  # every clip from its onset
    assert flow["flow_to"].tolist() == [20, 40, 3]
    assert np.abs(flow["features"][1, 0]).mean() > 0.1  # u: the 3 px shift


def test_the_flow_node_reads_the_onset_apex_crops_not_the_sampled_window():
    (node,) = [n for n in create_pipeline().nodes if n.name == "extract_flow_features"]
    assert node.inputs[0] == "flow_crops"


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
    together = embed_crops(loaders, boxes, {**PARAMS, "batch_size": 5})
    alone = pd.concat(
        [
            embed_crops(loaders, boxes[boxes["partition"] == p], PARAMS)
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
    first = embed_crops(_fingerprinted(loaders), boxes[:2], PARAMS)
    assert first["clip_fingerprint"].notna().all()

    counting = CountingLoads(loaders)
    again = embed_crops(counting.values, boxes, PARAMS, previous=first)
    assert set(counting.loaded) == {"sub02/EP01"}  # only the new clip
    fresh = embed_crops(_fingerprinted(loaders), boxes, PARAMS)
    assert again[["partition", "aug_id", "frame"]].equals(
        fresh[["partition", "aug_id", "frame"]]
    )
    assert np.allclose(again[EMBEDDING_COLUMNS], fresh[EMBEDDING_COLUMNS], atol=1e-5)

    unchanged = CountingLoads(loaders)
    embed_crops(unchanged.values, boxes, PARAMS, previous=again)
    assert unchanged.loaded == []

    changed_setting = CountingLoads(loaders)
    image = {"size": 32, "border_px": 2}
    embed_crops(
        changed_setting.values, boxes, {**PARAMS, "image": image}, previous=again
    )
    assert sorted(set(changed_setting.loaded)) == [
        "sub01/EP01",
        "sub01/EP02",
        "sub02/EP01",
    ]


def test_a_changed_weights_file_recomputes_every_clip(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=9)
    file_v1 = Vgg16Weights("w.h5", "file w.h5", model.get_weights(), ["w.h5", 10, 1])
    first = embed_crops(_fingerprinted(loaders), boxes, PARAMS, weights=file_v1)
    same = CountingLoads(loaders)
    embed_crops(same.values, boxes, PARAMS, previous=first, weights=file_v1)
    assert same.loaded == []
    file_v2 = Vgg16Weights("w.h5", "file w.h5", model.get_weights(), ["w.h5", 10, 2])
    touched = CountingLoads(loaders)
    embed_crops(touched.values, boxes, PARAMS, previous=first, weights=file_v2)
    assert len(set(touched.loaded)) == 3


def test_the_node_embeds_with_given_arrays_and_reads_no_file(
    crops_and_boxes, monkeypatch
):
    """Weights arrive as arrays (the catalog read the file): no file is opened."""
    import builtins  # noqa: PLC0415
    import pathlib  # noqa: PLC0415

    import h5py  # noqa: PLC0415

    loaders, boxes = crops_and_boxes
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=21)
    weights = Vgg16Weights("/nowhere/w.h5", "file w.h5", model.get_weights(), None)

    def no_files(*args, **kwargs):
        raise AssertionError(f"a node opened a file: {args[:1]}")

    monkeypatch.setattr(builtins, "open", no_files)
    monkeypatch.setattr(pathlib.Path, "read_text", no_files)
    monkeypatch.setattr(pathlib.Path, "open", no_files)
    monkeypatch.setattr(h5py, "File", no_files)
    table = embed_crops(loaders, boxes, {**PARAMS, "seed": 999}, weights=weights)
    monkeypatch.undo()
    assert (table["weights"] == "file w.h5").all()
    apex = table[(table["partition"] == "sub01/EP01") & (table["aug_id"] == 0)]
    from me_emotion.core.augmentation import model_images  # noqa: PLC0415

    crops = loaders["sub01/EP01"]()
    images = model_images(
        crops.frames, "sub01/EP01", 0, PARAMS["augmentation"], PARAMS["image"]
    )
    expected = embed(model, images, batch_size=4)
    assert np.allclose(apex[EMBEDDING_COLUMNS].to_numpy(), expected, atol=1e-4)


def test_auto_precision_follows_the_run_environment(crops_and_boxes):
    loaders, boxes = crops_and_boxes
    amx = {"packages": {}, "cpu": {"model": "test CPU", "flags": ["amx_bf16"]}}
    auto = {**PARAMS, "precision": "auto"}
    assert set(embed_crops(loaders, boxes[:1], auto)["precision"]) == {"float32"}
    with_amx = embed_crops(loaders, boxes[:1], auto, environment=amx)
    assert set(with_amx["precision"]) == {"bfloat16"}


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

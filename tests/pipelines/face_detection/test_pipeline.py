"""The preprocessing + face_detection pipelines: a file-backed slice, then a real run."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from kedro_datasets.partitions import PartitionedDataset

from me_emotion.datasets import (
    ClipFrames,
    ClipFramesDataset,
    HaarCascadeDataset,
    OpenCVImageDataset,
    SealedPartitionedDataset,
)
from me_emotion.datasets.packaged_faces import PHOTOGRAPHS
from me_emotion.parameters import check_block
from me_emotion.pipelines import face_detection, preprocessing
from tests.conftest import conf_parameters, run_pipeline

STAGE = preprocessing.create_pipeline() + face_detection.create_pipeline()
SAMPLING = conf_parameters("preprocessing", "casme2", "preprocessing")


def _write_clip(folder, frames: list[np.ndarray], first: int) -> list[str]:
    names = [f"img{first + i}.jpg" for i in range(len(frames))]
    for name, frame in zip(names, frames):
        OpenCVImageDataset(str(folder / name)).save(frame)
    return names


def test_colour_and_grayscale_releases_give_the_same_face(tmp_path, params):
    """CASME-II frames are colour JPEGs, SAMM's grayscale: both must crop alike."""
    colour = cv2.resize(
        PHOTOGRAPHS["hopper"](), (320, 375), interpolation=cv2.INTER_AREA
    )
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    release = tmp_path / "release"
    rows = []
    for subject, frame in (("colour", colour), ("grey", grey)):
        names = _write_clip(release / subject / "clip", [frame] * 3, first=10)
        rows.append(
            {
                "dataset": "casme2",
                "subject": subject,
                "clip": "clip",
                "onset": 10,
                "apex": 11,
                "offset": 12,
                "frame_files": names,
                "label": "others",
                "emotion": "others",
            }
        )
    sealed = {
        "dataset": "me_emotion.datasets.ClipFramesDataset",
        "filename_suffix": ".npz",
    }
    catalog = DataCatalog(
        {
            "clip_index": MemoryDataset(pd.DataFrame(rows)),
            "raw_frames": PartitionedDataset(
                path=str(release),
                dataset={
                    "type": "me_emotion.datasets.CheckedImageDataset",
                    "load_args": {"mode": "grayscale"},
                },
            ),
            "sampled_frames": SealedPartitionedDataset(
                path=str(tmp_path / "sampled"), **sealed
            ),
            "face_crops": SealedPartitionedDataset(
                path=str(tmp_path / "crops"), **sealed
            ),
            "flow_frames": SealedPartitionedDataset(
                path=str(tmp_path / "flow_frames"), **sealed
            ),
            "flow_crops": SealedPartitionedDataset(
                path=str(tmp_path / "flow_crops"), **sealed
            ),
            "face_boxes": ParquetDataset(filepath=str(tmp_path / "boxes.parquet")),
            "face_rejects": CSVDataset(filepath=str(tmp_path / "rejects.csv")),
            "params:preprocessing": MemoryDataset({**SAMPLING, "strategy": "all"}),
            "params:face_detection": MemoryDataset(params),
            "haar_cascade": HaarCascadeDataset(
                cascade="haarcascade_frontalface_default.xml"
            ),
        }
    )
    outputs = SequentialRunner().run(STAGE, catalog)

    boxes = catalog.load("face_boxes").set_index("subject")
    assert catalog.load("face_rejects").empty
    face = ["face_x", "face_y", "face_w", "face_h"]
    np.testing.assert_allclose(
        boxes.loc["colour", face], boxes.loc["grey", face], atol=3
    )
    crops = catalog.load("face_crops")
    for key in ("colour/clip", "grey/clip"):
        clip = crops[key]()
        assert clip.frames.shape == (3, 256, 256) and clip.frames.dtype == np.uint8
    assert outputs["face_contact_sheet"].load().ndim == 3


def test_project_parameters_and_catalog_fit_the_stage(kedro_project):
    """The YAML blocks pass the startup checks; each dataset is declared, with a layer."""
    bootstrap_project(kedro_project)
    with KedroSession.create(project_path=kedro_project) as session:
        context = session.load_context()
        catalog, parameters = context.catalog, context.params
        for dataset in ("casme2", "samm"):
            for block in ("preprocessing", "face_detection"):
                check_block(parameters[dataset][block], block, f"{dataset}.{block}")
            stage = pipelines[dataset].only_nodes(
                *(f"{dataset}.{node.name}" for node in STAGE.nodes)
            )
            for name in stage.datasets():
                if name.startswith("params:"):
                    continue
                entry = catalog.get(name, fallback_to_runtime_pattern=False)
                assert entry is not None, f"{name} is not in the catalog"
                assert not isinstance(entry, MemoryDataset), name
                assert entry.metadata["kedro-viz"]["layer"], name


def test_casme2_run_writes_crops_loads_them_lazily_and_skips_on_rerun(
    trained_project, monkeypatch
):
    """The shared trained project's face stage ran with the project's parameters."""
    face_stage = [
        "casme2.crop_faces",
        "casme2.crop_flow_frames",
        "casme2.draw_contact_sheet",
    ]
    primary = trained_project / "data/03_primary/casme2"
    index = pd.read_parquet(
        trained_project / "data/02_intermediate/casme2/clip_index.parquet"
    )
    boxes = pd.read_parquet(primary / "face_boxes.parquet")
    rejects = pd.read_csv(primary / "face_rejects.csv")
    assert len(boxes) + len(rejects) == len(index)
    assert len(boxes) >= 0.95 * len(index)
    assert rejects["reason"].notna().all()
    assert (
        trained_project / "data/08_reporting/casme2/face_contact_sheet.png"
    ).is_file()

    opened = []  # the clip files read, in order
    read_clip = ClipFramesDataset.load
    monkeypatch.setattr(
        ClipFramesDataset,
        "load",
        lambda dataset: opened.append(dataset) or read_clip(dataset),
    )
    bootstrap_project(trained_project)
    with KedroSession.create(project_path=trained_project) as session:
        catalog = session.load_context().catalog
        crops = catalog.load("casme2.face_crops")
        flow = catalog.load("casme2.flow_crops")
    assert sorted(crops) == sorted(boxes["partition"])
    assert opened == []  # loading the catalog entry reads no clip
    clip = crops[boxes["partition"].iloc[0]]()
    assert len(opened) == 1  # a partition reads its own file when called
    assert isinstance(clip, ClipFrames)
    assert clip.frames.shape[1:] == (256, 256) and clip.frames.dtype == np.uint8
    assert len(clip.frames) <= 5 and clip.apex in clip.frame_numbers  # paper sampling
    assert len(set(clip.frame_numbers)) == len(clip.frames)  # no frame twice
    flow_clip = flow[boxes["partition"].iloc[0]]()
    assert flow_clip.frame_numbers[0] == flow_clip.onset  # from the release, same box
    assert flow_clip.frame_numbers[-1] == flow_clip.apex
    assert flow_clip.crop_box == clip.crop_box

    written = {p: p.stat().st_mtime_ns for p in primary.rglob("*") if p.is_file()}
    run_pipeline(
        trained_project, "casme2", to_nodes=face_stage, only_missing_outputs=True
    )
    assert {
        p: p.stat().st_mtime_ns for p in primary.rglob("*") if p.is_file()
    } == written

"""Small custom Kedro datasets for what kedro-datasets has no connector for."""

from .arrays import ArraysDataset
from .checked_image import CheckedImageDataset
from .clip_frames import ClipFrames, ClipFramesDataset
from .composite_list import CompositeListDataset
from .frame_tree import FrameTree, FrameTreeDataset, frame_number
from .haar_cascade import HaarCascadeDataset
from .image import OpenCVImageDataset
from .keras_models import KerasModelLoadersDataset, ModelLoader
from .packaged_faces import PackagedFacePhotosDataset
from .previous_output import PreviousOutputDataset
from .run_environment import RunEnvironmentDataset
from .sealed_partitions import SealedPartitionedDataset
from .spreadsheet_grid import SpreadsheetGridDataset
from .vgg16_weights import Vgg16WeightsDataset
from .video_files import (
    VideoFilesDataset,
    VideoGroundTruthDataset,
    VideoReadError,
    VideoSource,
)

__all__ = [
    "ArraysDataset",
    "CheckedImageDataset",
    "ClipFrames",
    "ClipFramesDataset",
    "CompositeListDataset",
    "FrameTree",
    "FrameTreeDataset",
    "HaarCascadeDataset",
    "KerasModelLoadersDataset",
    "ModelLoader",
    "OpenCVImageDataset",
    "PackagedFacePhotosDataset",
    "PreviousOutputDataset",
    "RunEnvironmentDataset",
    "SealedPartitionedDataset",
    "SpreadsheetGridDataset",
    "Vgg16WeightsDataset",
    "VideoFilesDataset",
    "VideoGroundTruthDataset",
    "VideoReadError",
    "VideoSource",
    "frame_number",
]

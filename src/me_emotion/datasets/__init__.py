"""Small custom Kedro datasets for what kedro-datasets has no connector for."""

from .frame_tree import FrameTree, FrameTreeDataset, frame_number
from .image import OpenCVImageDataset
from .packaged_faces import PackagedFacePhotosDataset
from .spreadsheet_grid import SpreadsheetGridDataset

__all__ = [
    "FrameTree",
    "FrameTreeDataset",
    "OpenCVImageDataset",
    "PackagedFacePhotosDataset",
    "SpreadsheetGridDataset",
    "frame_number",
]

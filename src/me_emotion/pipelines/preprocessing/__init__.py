"""Pick each clip's frames (sampling strategy) and read them as 8-bit grayscale."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

"""Video analysis: unlabelled videos -> face tracks -> spotted intervals -> both models' labels."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

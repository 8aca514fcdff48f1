"""Augmentation, VGG-16 transfer embeddings and onset->apex optical flow."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

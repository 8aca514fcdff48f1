"""Haar face box per clip, 256x256 CLAHE face crops, reject table, contact sheet."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

"""Per-subject results and bootstrap intervals over subjects, after training."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

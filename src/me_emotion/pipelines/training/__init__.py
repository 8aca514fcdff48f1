"""HybridMicroNet, the method's baselines and AU-enhanced model, under several protocols."""

from .pipeline import create_composite_pipeline, create_pipeline

__all__ = ["create_composite_pipeline", "create_pipeline"]

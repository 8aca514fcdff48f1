"""Result tables (the paper's, with a protocol column), plotly figures, HTML report."""

from .pipeline import create_composite_pipeline, create_pipeline

__all__ = ["create_composite_pipeline", "create_pipeline"]

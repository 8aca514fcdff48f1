"""Result tables (the paper's, with a protocol column), plotly figures, HTML report."""

from .pipeline import RUN_ENVIRONMENT, create_composite_pipeline, create_pipeline

__all__ = ["RUN_ENVIRONMENT", "create_composite_pipeline", "create_pipeline"]

"""Read CASME-II / SAMM releases as distributed into a clip index."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

"""Shared domain code: used by several pipeline stages, imports no stage."""

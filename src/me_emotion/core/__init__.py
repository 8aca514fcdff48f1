"""Shared domain code: used by several pipeline stages, imports no stage.

Stages (``me_emotion.pipelines.<stage>``) depend on this package and on
``me_emotion.datasets``, never on each other; this package imports neither.
"""

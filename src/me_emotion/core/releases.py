"""The labelled releases the project reads, named once.

Each name is a catalog namespace (``casme2.clip_index``), a parameter block
(``params:casme2.training``), a synthetic layout and a video recognition model.
"""

from __future__ import annotations

DATASETS: tuple[str, ...] = ("casme2", "samm")

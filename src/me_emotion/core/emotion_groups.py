"""Each dataset's emotion classes -> negative / positive / surprise / others.

The maps are the composite's (``composite.labels.class_maps.<dataset>``); a
class they leave out is ``others``. A model's group probability is the SUM of
its class probabilities in that group (not argmax, then map).
"""

from __future__ import annotations

from typing import Any

import numpy as np

GROUPS = ("negative", "positive", "surprise", "others")


def class_groups(classes: list[str], class_map: dict[str, Any] | None) -> list[str]:
    """The group of each class (any letter case); unmapped classes are ``others``."""
    mapping = {str(k).strip().lower(): v for k, v in (class_map or {}).items() if v}
    return [str(mapping.get(str(c).strip().lower(), "others")) for c in classes]


def group_probabilities(
    probabilities: np.ndarray, classes: list[str], class_map: dict[str, Any] | None
) -> np.ndarray:
    """``(n, 4)`` probabilities of ``GROUPS``: class probabilities summed per group."""
    groups = class_groups(classes, class_map)
    summed = np.zeros((len(probabilities), len(GROUPS)), np.float32)
    for k, group in enumerate(groups):
        summed[:, GROUPS.index(group)] += probabilities[:, k]
    return summed

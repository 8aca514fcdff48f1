"""HybridMicroNet's late-fusion weights, chosen inside the training fold.

The onset HybridMicroNet (``core.architectures.build_onset_hybrid``) trains
one head per branch on its own loss and outputs their weighted mean. With
``fusion_choice.on_validation`` the weights are chosen per fold, never on the
fold's test samples:

1. the fold's training samples are split into inner-training and validation
   groups — whole subjects under the subject protocols (``loso``,
   ``composite``, ``cross_dataset``, ``final``), single clips under
   ``paper_random_split``, mirroring how the fold's test samples relate to
   its training ones (``evaluation.cross_fitting_groups``);
2. the model is fitted on the inner-training samples and its heads predict
   the validation samples;
3. every weight combination of ``levels`` per branch (normalised; the equal
   weights first, which win ties) is scored by the class-balanced log-loss of
   the fused probabilities on the validation samples; the lowest wins;
4. the model is refitted on all of the fold's training samples and given the
   chosen weights (the heads' training does not depend on them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .fitting import balanced_sample_weights

PROBABILITY_FLOOR = 1e-7  # log-loss of a zero probability stays finite


@dataclass(frozen=True)
class FusionChoice:
    """``training.models.<name>.fusion_choice``, resolved."""

    validation_share: float  # of the fold's training groups (subjects or clips)
    levels: tuple[float, ...]  # candidate weights per branch


def fusion_choice(options: dict[str, Any]) -> FusionChoice | None:
    """The model's fusion choice settings; None where its weights are fixed."""
    block = options.get("fusion_choice") or {}
    if not block.get("on_validation", False):
        return None
    share = float(block.get("validation_share", 0.2))
    levels = tuple(float(level) for level in block.get("levels", (0.0, 1.0, 2.0)))
    if not 0.0 < share < 1.0:
        raise ValueError(
            f"fusion_choice.validation_share={share}: a share between 0 and 1 "
            "of the fold's training subjects"
        )
    if not levels or min(levels) < 0 or max(levels) <= 0:
        raise ValueError(
            f"fusion_choice.levels={list(levels)}: non-negative weights, one above 0"
        )
    return FusionChoice(share, levels)


def describe(weights: dict[str, float]) -> str:
    """``image_delta 0.25, embedding_delta 0.25, flow 0.50``."""
    return ", ".join(f"{name} {value:.2f}" for name, value in weights.items())


def inner_split(
    groups: np.ndarray, share: float, seed: int, fold_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into ``groups``) of the inner-training and validation samples.

    ``round(share x number of groups)`` whole groups validate (at least one,
    at most all but one), drawn with a seed of the fold's own.
    """
    candidates = np.unique(groups)
    if len(candidates) < 2:
        raise ValueError(
            f"fold {fold_name}: the fusion weights need two training groups "
            f"(subjects or clips), found {len(candidates)}; set "
            "fusion_choice.on_validation: false to use the fixed fusion_weights"
        )
    n_validation = min(max(1, round(share * len(candidates))), len(candidates) - 1)
    rng = np.random.default_rng([seed, *fold_name.encode()])
    validation_groups = rng.choice(candidates, size=n_validation, replace=False)
    is_validation = np.isin(groups, validation_groups)
    return np.flatnonzero(~is_validation), np.flatnonzero(is_validation)


def balanced_log_loss(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Mean over the classes present of each class's mean ``-log p(true class)``
    (the per-sample losses weighted as ``class_weight: balanced`` weighs them)."""
    true = np.clip(probabilities[np.arange(len(y)), y], PROBABILITY_FLOOR, 1.0)
    return float(np.average(-np.log(true), weights=balanced_sample_weights(y, True)))


def weight_grid(
    branches: list[str], levels: tuple[float, ...]
) -> list[dict[str, float]]:
    """Normalised weight combinations, equal weights first, no duplicates."""
    grid, seen = [], set()
    combinations = [
        (1.0,) * len(branches),
        *itertools.product(levels, repeat=len(branches)),
    ]
    for combination in combinations:
        total = sum(combination)
        if total <= 0:
            continue
        normalised = tuple(round(value / total, 6) for value in combination)
        if normalised in seen:
            continue
        seen.add(normalised)
        grid.append(dict(zip(branches, normalised)))
    return grid


def choose_weights(
    heads: dict[str, np.ndarray], y: np.ndarray, levels: tuple[float, ...]
) -> tuple[dict[str, float], float]:
    """The grid's weights with the lowest balanced log-loss of the fused heads.

    Args:
        heads: each branch's validation probabilities ``(n, K)``.
        y: the validation samples' class indices.

    Returns:
        The weights (summing to 1) and their log-loss.
    """
    best, best_loss = None, np.inf
    for weights in weight_grid(list(heads), levels):
        fused = sum(weights[name] * heads[name] for name in heads)
        loss = balanced_log_loss(fused, y)
        if loss < best_loss - 1e-9:
            best, best_loss = weights, loss
    return best, best_loss

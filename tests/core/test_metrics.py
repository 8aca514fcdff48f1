"""The vectorised UF1/UAR from confusion counts equals scikit-learn's pooled figures."""

from __future__ import annotations

import numpy as np
import pytest

from me_emotion.core.metrics import uar, uf1, uf1_uar_from_confusion

LABELS = ["a", "b", "c", "d"]


@pytest.mark.parametrize("seed", range(5))
def test_uf1_uar_from_confusion_equal_the_pooled_metrics(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.choice(LABELS[:3], 25)  # class d never true: still counted
    y_pred = rng.choice(LABELS, 25)
    confusion = np.zeros((4, 4))
    for t, p in zip(y_true, y_pred):
        confusion[LABELS.index(t), LABELS.index(p)] += 1
    f1, recall = uf1_uar_from_confusion(confusion)
    assert f1 == pytest.approx(uf1(y_true, y_pred, LABELS))
    assert recall == pytest.approx(uar(y_true, y_pred, LABELS))


def test_uf1_uar_from_confusion_keeps_the_stacking_shape():
    stacked = np.stack([np.eye(3) * 2, np.ones((3, 3))])[None]  # (1, 2, 3, 3)
    f1, recall = uf1_uar_from_confusion(stacked)
    assert f1.shape == recall.shape == (1, 2)
    assert f1[0, 0] == pytest.approx(1.0) and recall[0, 1] == pytest.approx(1 / 3)
    empty_f1, empty_recall = uf1_uar_from_confusion(np.zeros((3, 3)))
    assert empty_f1 == 0 and empty_recall == 0

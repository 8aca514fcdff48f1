"""Column names of the training stage's outputs that reporting reads, in one place.

``{namespace}.metrics``: one row per data source x weights x protocol x model x
level, scores computed on the predictions pooled over folds.
``{namespace}.confusion_matrices``: the same keys x (true class, predicted
class) with a count; every class pair is listed, zeros included.
"""

from __future__ import annotations

# ---- keys shared by metrics and confusion matrices -----------------------------
PROTOCOL = "protocol"
MODEL = "model"
LEVEL = "level"  # clip | frame
DATA_SOURCE = "data_source"  # synthetic | real
WEIGHTS = "embedding_weights"  # VGG-16 weights behind the embeddings
SOURCE_KEYS = (DATA_SOURCE, WEIGHTS)

# ---- metrics: report name -> column of {namespace}.metrics ---------------------
# On pooled predictions macro recall is UAR and macro F1 is UF1 (same formula),
# so the paper's "recall" and "F1" columns are read from uar / uf1.
METRICS = {
    "accuracy": "accuracy",
    "precision": "macro_precision",
    "recall": "uar",
    "F1": "uf1",
    "weighted F1": "weighted_f1",
    "UF1": "uf1",
    "UAR": "uar",
}
# What guessing scores on the same test labels, beside every table.
CHANCE = {
    "chance accuracy": "chance_accuracy",  # always the most frequent class
    "chance UF1": "chance_uf1",  # uniform random guess
    "chance UAR": "chance_uar",  # 1 / number of classes
}
N_SAMPLES = "n_samples"  # pooled test predictions of the row
N_FOLDS = "n_folds"

# ---- confusion matrices ------------------------------------------------------------
TRUE_CLASS = "y_true"
PREDICTED_CLASS = "y_pred"
COUNT = "count"

"""The method's "Enhanced Model": Action Units + K-means clusters + CNN features.

Two variants: ``AuEnhancedClassifier`` reads the clip's *annotated* AUs (model
``au_enhanced``), ``AuPredictedClassifier`` predicts them from the embeddings
(model ``au_predicted``), so no human AU coding is used at test time.

The method combines three inputs into one classifier: Action Units, K-means
cluster assignments of the embeddings, and CNN features. Here:

- **Action Units** are the *annotated* AUs of the coding spreadsheet (human
  FACS coders, or the synthetic generator's ground truth), as a multi-hot
  vector over AU1..AU64. They are not detected from the video: this model uses
  information no automatic system has at test time, and every result table
  says so (model name ``au_enhanced`` = "with annotated AUs").
- **K-means** runs on the standardised VGG-16 embeddings of the training fold
  only; each sample gets its cluster as a one-hot vector.
- **CNN features** are the VGG-16 embeddings (the method's CNN feature
  branch), standardised and reduced by PCA to ``n_components`` whitened
  components, both fitted on the training fold, so 512 raw dimensions do not
  swamp the few AU columns. ``n_components`` is fixed a priori (about the
  number of AU columns a clip sets), never chosen by test scores.
- The classifier is a multinomial logistic regression (the method does not say
  which classifier combines them).

Input ``X`` is ``[AU multi-hot (n_action_units columns) | embedding]``.

``AuPredictedClassifier`` reads the same ``X`` but uses its AU columns only
when fitting: a logistic regression per AU (:class:`ActionUnitProbabilities`)
learns the training fold's annotated AUs from the standardised embeddings, and
its predicted AU probabilities replace the AU columns (so ``predict`` never
reads the annotated AUs). An AU that is always or never set in the data it is
fitted on is predicted as that constant.

The final classifier must learn how far to trust predicted AUs *as they are at
test time*. In-sample predictions on the training clips are near-perfect, so a
classifier trained on them over-trusts AU columns that are noisy on unseen
people. Its training AU columns are therefore cross-fitted: grouped
``cross_val_predict`` (``GroupKFold`` over the ``groups`` passed to ``fit``),
so each training row's AU columns come from an AU model that never saw its
group. The groups imitate the protocol: subjects under leave-one-subject-out
(a test subject is unseen), single rows under the random split over frames
(a test frame's clip is in training, so its test-time AU predictions are
nearly in-sample). Only the training fold's rows take part; the AU model
applied at test time is fitted on all of them.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.multioutput import MultiOutputClassifier
from sklearn.preprocessing import StandardScaler

logger = logging.getLogger(__name__)


class AuEnhancedClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on annotated AUs, K-means cluster one-hots and embeddings.

    Args:
        n_action_units: leading columns of ``X`` that hold the AU multi-hot vector.
        n_clusters: K-means clusters of the standardised embeddings.
        n_components: PCA components of the standardised embeddings kept as
            features (0: none).
        C: inverse regularisation strength of the logistic regression.
        class_weight: ``"balanced"`` or None.
        max_iter: logistic regression iterations.
        random_state: seed of K-means and the solver.
    """

    def __init__(
        self,
        *,
        n_action_units: int = 64,
        n_clusters: int = 8,
        n_components: int = 16,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        max_iter: int = 1000,
        random_state: int = 0,
    ):
        self.n_action_units = n_action_units
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        return X[:, : self.n_action_units], X[:, self.n_action_units :]

    def _fit_action_units(self, annotated: np.ndarray, embedding: np.ndarray) -> None:
        """Nothing to fit: this variant reads the annotated AUs."""

    def _training_action_units(
        self, annotated: np.ndarray, embedding: np.ndarray, groups: np.ndarray | None
    ) -> np.ndarray:
        """The AU columns the classifier is trained on: here the annotated ones."""
        return annotated

    def _action_units(self, annotated: np.ndarray, embedding: np.ndarray) -> np.ndarray:
        """The AU columns the classifier sees at prediction: here the annotated ones."""
        return annotated

    def _features(
        self, X: np.ndarray, action_units: np.ndarray | None = None
    ) -> np.ndarray:
        annotated, embedding = self._split(X)
        if action_units is None:
            action_units = self._action_units(annotated, embedding)
        scaled = self.scaler_.transform(embedding)
        clusters = np.eye(self.kmeans_.n_clusters)[self.kmeans_.predict(scaled)]
        parts = [action_units, clusters]
        if self.pca_ is not None:
            parts.append(self.pca_.transform(scaled))
        return np.hstack(parts)

    def fit(
        self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None
    ) -> AuEnhancedClassifier:
        """Fit scaler, K-means and the classifier on ``X`` (the training fold) only.

        ``groups`` (each row's subject) is read by ``AuPredictedClassifier``
        only, to cross-fit its AU predictions over subjects.
        """
        annotated, embedding = self._split(X)
        self.scaler_ = StandardScaler().fit(embedding)
        scaled = self.scaler_.transform(embedding)
        self._fit_action_units(annotated, embedding)
        training_action_units = self._training_action_units(
            annotated, embedding, groups
        )
        n_clusters = max(1, min(int(self.n_clusters), len(embedding)))
        self.kmeans_ = KMeans(
            n_clusters=n_clusters, n_init=2, random_state=self.random_state
        ).fit(scaled)
        n_components = min(int(self.n_components), *scaled.shape)
        self.pca_ = (
            PCA(n_components, whiten=True, random_state=self.random_state).fit(scaled)
            if n_components > 0
            else None
        )
        self.classifier_ = LogisticRegression(
            C=self.C,
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            random_state=self.random_state,
        ).fit(self._features(X, training_action_units), y)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.classifier_.predict_proba(self._features(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class ActionUnitProbabilities(BaseEstimator):
    """The probability of each AU from an embedding: a standardiser, then one
    logistic regression per AU (``MultiOutputClassifier``).

    ``fit(embedding, annotated)`` learns the multi-hot ``annotated`` AUs;
    ``predict`` returns their probabilities ``(n, n_action_units)`` (a
    ``predict`` so that ``cross_val_predict`` can stack them). An AU that is
    always or never set in the fitting data is predicted as that constant.

    Args:
        C: inverse regularisation strength of the per-AU logistic regressions.
        max_iter: their iterations.
        random_state: their solver's seed.
    """

    def __init__(self, *, C: float = 1.0, max_iter: int = 1000, random_state: int = 0):
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(
        self, embedding: np.ndarray, annotated: np.ndarray
    ) -> ActionUnitProbabilities:
        embedding = np.asarray(embedding, dtype=np.float64)
        annotated = np.asarray(annotated, dtype=np.float64)
        self.scaler_ = StandardScaler().fit(embedding)
        rates = (
            annotated.mean(axis=0) if len(annotated) else np.zeros(annotated.shape[1])
        )
        self.rates_ = rates  # the constant prediction of an AU that never varies
        self.varying_ = np.flatnonzero((rates > 0) & (rates < 1))
        self.classifier_ = (
            MultiOutputClassifier(
                LogisticRegression(
                    C=self.C, max_iter=self.max_iter, random_state=self.random_state
                )
            ).fit(
                self.scaler_.transform(embedding),
                annotated[:, self.varying_].astype(np.int64),
            )
            if len(self.varying_)
            else None
        )
        return self

    def predict(self, embedding: np.ndarray) -> np.ndarray:
        """AU probabilities ``(n, n_action_units)``."""
        embedding = np.asarray(embedding, dtype=np.float64)
        predicted = np.tile(self.rates_, (len(embedding), 1))
        if self.classifier_ is not None and len(embedding):
            per_au = self.classifier_.predict_proba(self.scaler_.transform(embedding))
            predicted[:, self.varying_] = np.column_stack([p[:, 1] for p in per_au])
        return predicted


class AuPredictedClassifier(AuEnhancedClassifier):
    """``AuEnhancedClassifier`` with AUs predicted from the embeddings, not annotated.

    The annotated AU columns of ``X`` are the AU model's training targets in
    ``fit`` and are ignored by ``predict`` / ``predict_proba``. ``fit`` needs
    ``groups`` (each training row's cross-fitting group: its subject, or the
    row itself under the random split): the classifier's training AU columns
    are cross-fitted over ``au_cv_folds`` folds of groups (``GroupKFold``;
    fewer when the training fold has fewer groups).

    Args:
        au_C: inverse regularisation strength of the per-AU logistic regressions.
        au_cv_folds: subject folds of the cross-fitting (2 or more), fixed a priori.
        The other arguments as :class:`AuEnhancedClassifier`.
    """

    def __init__(  # noqa: PLR0913 - scikit-learn estimators list their parameters
        self,
        *,
        n_action_units: int = 64,
        n_clusters: int = 8,
        n_components: int = 16,
        C: float = 1.0,
        au_C: float = 1.0,
        au_cv_folds: int = 3,
        class_weight: str | None = "balanced",
        max_iter: int = 1000,
        random_state: int = 0,
    ):
        super().__init__(
            n_action_units=n_action_units,
            n_clusters=n_clusters,
            n_components=n_components,
            C=C,
            class_weight=class_weight,
            max_iter=max_iter,
            random_state=random_state,
        )
        self.au_C = au_C
        self.au_cv_folds = au_cv_folds

    def _action_unit_model(self) -> ActionUnitProbabilities:
        return ActionUnitProbabilities(
            C=self.au_C, max_iter=self.max_iter, random_state=self.random_state
        )

    def _fit_action_units(self, annotated: np.ndarray, embedding: np.ndarray) -> None:
        """The AU model applied at prediction: fitted on every training row."""
        self.au_model_ = self._action_unit_model().fit(embedding, annotated)

    def _training_action_units(
        self, annotated: np.ndarray, embedding: np.ndarray, groups: np.ndarray | None
    ) -> np.ndarray:
        """Cross-fitted AU probabilities: each subject's from a model not fitted on it."""
        if groups is None:
            raise ValueError(
                "AuPredictedClassifier.fit needs groups (each training row's subject, "
                "or the row itself) to cross-fit its AU predictions"
            )
        groups = np.asarray(groups)
        if len(groups) != len(embedding):
            raise ValueError(
                f"groups has {len(groups)} rows, X has {len(embedding)}: one subject "
                "per training row is needed"
            )
        if int(self.au_cv_folds) < 2:
            raise ValueError(f"au_cv_folds is {self.au_cv_folds}: it must be 2 or more")
        n_subjects = len(np.unique(groups))
        if n_subjects < 2:
            logger.warning(
                "au_predicted: one training subject, so no AU model unfitted on it: "
                "the classifier's training AU columns are the AU rates (constant)"
            )
            return np.tile(self.au_model_.rates_, (len(embedding), 1))
        return cross_val_predict(
            self._action_unit_model(),
            embedding,
            annotated,
            groups=groups,
            cv=GroupKFold(n_splits=min(int(self.au_cv_folds), n_subjects)),
        )

    def _action_units(self, annotated: np.ndarray, embedding: np.ndarray) -> np.ndarray:
        """Predicted AU probabilities; ``annotated`` is deliberately not read."""
        return self.au_model_.predict(embedding)

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
when fitting: a logistic regression per AU (``MultiOutputClassifier``) learns the training
fold's annotated AUs from the standardised embeddings, and its predicted AU
probabilities replace the AU columns, on the training samples as on the test
samples (so ``predict`` never reads the annotated AUs). An AU that is always or
never set in the training fold is predicted as that constant.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
from sklearn.preprocessing import StandardScaler


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

    def _fit_action_units(self, annotated: np.ndarray, scaled: np.ndarray) -> None:
        """Nothing to fit: this variant reads the annotated AUs."""

    def _action_units(self, annotated: np.ndarray, scaled: np.ndarray) -> np.ndarray:
        """The AU columns the classifier sees: here the annotated ones."""
        return annotated

    def _features(self, X: np.ndarray) -> np.ndarray:
        annotated, embedding = self._split(X)
        scaled = self.scaler_.transform(embedding)
        clusters = np.eye(self.kmeans_.n_clusters)[self.kmeans_.predict(scaled)]
        parts = [self._action_units(annotated, scaled), clusters]
        if self.pca_ is not None:
            parts.append(self.pca_.transform(scaled))
        return np.hstack(parts)

    def fit(self, X: np.ndarray, y: np.ndarray) -> AuEnhancedClassifier:
        """Fit scaler, K-means and the classifier on ``X`` (the training fold) only."""
        annotated, embedding = self._split(X)
        self.scaler_ = StandardScaler().fit(embedding)
        scaled = self.scaler_.transform(embedding)
        self._fit_action_units(annotated, scaled)
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
        ).fit(self._features(X), y)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.classifier_.predict_proba(self._features(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class AuPredictedClassifier(AuEnhancedClassifier):
    """``AuEnhancedClassifier`` with AUs predicted from the embeddings, not annotated.

    The annotated AU columns of ``X`` are the AU classifier's training targets
    in ``fit`` and are ignored by ``predict`` / ``predict_proba``.

    Args:
        au_C: inverse regularisation strength of the per-AU logistic regressions;
            the other arguments as :class:`AuEnhancedClassifier`.
    """

    def __init__(  # noqa: PLR0913 - scikit-learn estimators list their parameters
        self,
        *,
        n_action_units: int = 64,
        n_clusters: int = 8,
        n_components: int = 16,
        C: float = 1.0,
        au_C: float = 1.0,
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

    def _fit_action_units(self, annotated: np.ndarray, scaled: np.ndarray) -> None:
        """Learn the training fold's annotated AUs (one classifier per varying AU)."""
        rates = (
            annotated.mean(axis=0) if len(annotated) else np.zeros(annotated.shape[1])
        )
        self.au_rates_ = rates  # the constant prediction of an AU that never varies
        self.au_varying_ = np.flatnonzero((rates > 0) & (rates < 1))
        self.au_classifier_ = (
            MultiOutputClassifier(
                LogisticRegression(
                    C=self.au_C, max_iter=self.max_iter, random_state=self.random_state
                )
            ).fit(scaled, annotated[:, self.au_varying_].astype(np.int64))
            if len(self.au_varying_)
            else None
        )

    def _action_units(self, annotated: np.ndarray, scaled: np.ndarray) -> np.ndarray:
        """Predicted AU probabilities; ``annotated`` is deliberately not read."""
        predicted = np.tile(self.au_rates_, (len(scaled), 1))
        if self.au_classifier_ is not None:
            per_au = self.au_classifier_.predict_proba(scaled)  # (n, 2) per AU
            predicted[:, self.au_varying_] = np.column_stack([p[:, 1] for p in per_au])
        return predicted

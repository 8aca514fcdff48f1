"""Trained Keras models as loaders: a node loads only the models it chooses, once.

.. code-block:: yaml

    video.recognition_models:
      type: me_emotion.datasets.KerasModelLoadersDataset
      filepath: data/06_models/{namespace}/{model}.keras  # as {namespace}.keras_model_{model}
      namespaces: [casme2, samm]
      models: [hybrid_micronet, flow_cnn]

``load()`` returns ``{namespace: {model: ModelLoader}}`` without reading any
file (nor importing TensorFlow); calling a ``ModelLoader`` reads its model
(inference only: not compiled) and keeps it for the next call. The video
stage chooses one model per namespace at run time, so loading all of them
as ordinary inputs would read files it never uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from me_emotion.fingerprint import file_identity, fingerprint


class ModelLoader:
    """A callable that loads one Keras model on first call and returns it after."""

    def __init__(self, path: Path, namespace: str):
        self.path, self.namespace = Path(path), namespace
        self._model: Any = None

    def exists(self) -> bool:
        return self.path.is_file()

    def __call__(self) -> Any:
        if self._model is None:
            if not self.exists():
                raise FileNotFoundError(
                    f"trained model {self.path} is missing: run `kedro run "
                    f"--pipelines={self.namespace}`"
                )
            import keras  # noqa: PLC0415 - TensorFlow only when a model is used

            self._model = keras.models.load_model(self.path, compile=False)
        return self._model

    def __repr__(self) -> str:
        return f"ModelLoader({str(self.path)!r})"


class KerasModelLoadersDataset(
    AbstractDataset[None, dict[str, dict[str, ModelLoader]]]
):
    """Read-only: ``{namespace: {model: ModelLoader}}`` of ``filepath`` per pair.

    Args:
        filepath: path template with ``{namespace}`` and ``{model}``.
        namespaces, models: the pairs offered.
        metadata: free-form metadata (kedro-viz layer).
    """

    def __init__(
        self,
        filepath: str,
        namespaces: list[str],
        models: list[str],
        metadata: dict[str, Any] | None = None,
    ):
        self._filepath = str(filepath)
        self._namespaces = [str(n) for n in namespaces]
        self._models = [str(m) for m in models]
        self.metadata = metadata

    def _path(self, namespace: str, model: str) -> Path:
        return Path(self._filepath.format(namespace=namespace, model=model))

    def load(self) -> dict[str, dict[str, ModelLoader]]:
        return {
            ns: {m: ModelLoader(self._path(ns, m), ns) for m in self._models}
            for ns in self._namespaces
        }

    def save(self, data: Any) -> None:
        raise DatasetError(
            "recognition_models is read-only: the models are saved by the training "
            "stage ({namespace}.keras_model_{model})"
        )

    def _exists(self) -> bool:
        return any(
            self._path(ns, m).is_file() for ns in self._namespaces for m in self._models
        )

    def run_stamp(self) -> str:
        """Identity of every model file (``IncrementalRunner``)."""
        return fingerprint(
            {
                f"{ns}/{m}": file_identity(p)
                if (p := self._path(ns, m)).is_file()
                else None
                for ns in self._namespaces
                for m in self._models
            }
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "namespaces": self._namespaces,
            "models": self._models,
        }

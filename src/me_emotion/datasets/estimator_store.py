"""Fitted scikit-learn estimators as JSON + numpy arrays: no pickle, no code on load.

``pickle``/``joblib`` files run arbitrary code when loaded, so a model file
from elsewhere would have to be trusted blindly; ``skops`` (the safe format)
is not a dependency. This module stores an estimator's fitted state instead,
the way ``skops`` does, restricted to what this project's estimators hold:

- the state (``__getstate__``) is walked recursively; plain values go to JSON,
  numpy arrays to ``.npy`` members read with ``allow_pickle=False``;
- an object is written as its class's import path and state, and only for
  scikit-learn estimators (``BaseEstimator`` subclasses from ``sklearn.`` or
  ``me_emotion.``) and scikit-learn's compiled decision-tree structure;
  anything else (a function, a lambda, an arbitrary object) refuses to save;
- loading imports only classes that pass the same check, creates them without
  calling their constructors and sets their state from the JSON and arrays.

So loading a file never executes code from it. The scikit-learn version is
recorded; loading under another version warns (scikit-learn's own check), as
fitted state can change meaning between versions.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from kedro.io import AbstractDataset, DatasetError
from sklearn.base import BaseEstimator
from sklearn.tree._tree import Tree

from me_emotion.datasets.npz import npz_bytes

FORMAT = "me_emotion.estimator/1"
_ALLOWED_MODULES = ("sklearn.", "me_emotion.")
_STATE = "__state__"


def _allowed(cls: type) -> bool:
    if cls is Tree:
        return True
    return (
        isinstance(cls, type)
        and issubclass(cls, BaseEstimator)
        and cls.__module__.startswith(_ALLOWED_MODULES)
    )


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _array(self, value: np.ndarray) -> dict[str, str]:
        if value.dtype.hasobject:
            items = value.tolist()
            return {"__object_array__": self.encode(items), "shape": list(value.shape)}
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return {"__array__": key}

    def encode(self, value: Any) -> Any:  # noqa: PLR0911
        if value is None or isinstance(value, (bool, int, float, str)):
            if isinstance(value, float) and not np.isfinite(value):
                return {"__float__": repr(value)}
            return value
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, np.generic):
            return {"__scalar__": value.dtype.str, "value": self.encode(value.item())}
        if isinstance(value, np.dtype):
            return {"__dtype__": value.str}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v) for v in value]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                return {
                    "__dict_items__": [
                        [self.encode(k), self.encode(v)] for k, v in value.items()
                    ]
                }
            return {"__dict__": {k: self.encode(v) for k, v in value.items()}}
        cls = type(value)
        if not _allowed(cls):
            raise TypeError(
                f"cannot store a {cls.__module__}.{cls.__qualname__} safely: only "
                "scikit-learn estimators, arrays and plain values are allowed"
            )
        path = f"{cls.__module__}:{cls.__qualname__}"
        if cls is Tree:
            _, args, state = value.__reduce__()
            return {
                "__tree__": path,
                "args": self.encode(args),
                "state": self.encode(state),
            }
        return {"__estimator__": path, "state": self.encode(value.__getstate__())}


def _import(path: str) -> type:
    module, _, name = path.partition(":")
    if not module.startswith(_ALLOWED_MODULES):
        raise DatasetError(
            f"refusing to import {path}: not a scikit-learn/me_emotion class"
        )
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None or not _allowed(cls):
        raise DatasetError(f"refusing to load {path}: not an allowed estimator class")
    return cls


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def decode(self, value: Any) -> Any:  # noqa: PLR0911
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__array__" in value:
            return self.arrays[value["__array__"]]
        if "__object_array__" in value:
            items = self.decode(value["__object_array__"])
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(value["shape"])
        if "__scalar__" in value:
            return np.dtype(value["__scalar__"]).type(self.decode(value["value"]))
        if "__dtype__" in value:
            return np.dtype(value["__dtype__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: self.decode(v) for k, v in value["__dict__"].items()}
        if "__dict_items__" in value:
            return {self.decode(k): self.decode(v) for k, v in value["__dict_items__"]}
        if "__tree__" in value:
            tree = _import(value["__tree__"])(*self.decode(value["args"]))
            tree.__setstate__(self.decode(value["state"]))
            return tree
        if "__estimator__" in value:
            cls = _import(value["__estimator__"])
            estimator = cls.__new__(cls)
            estimator.__setstate__(self.decode(value["state"]))
            return estimator
        raise DatasetError(f"unknown entry in a stored estimator: {sorted(value)[:3]}")


def dumps(estimator: BaseEstimator) -> bytes:
    """An ``.npz`` archive (bytes) of a fitted estimator: state JSON + arrays."""
    encoder = _Encoder()
    state = {
        "format": FORMAT,
        "sklearn_version": sklearn.__version__,
        "estimator": encoder.encode(estimator),
    }
    arrays = {**encoder.arrays, _STATE: np.array(json.dumps(state, sort_keys=True))}
    return npz_bytes(arrays, compress=True)


def loads(data: bytes) -> BaseEstimator:
    """The estimator of :func:`dumps`' bytes; imports allowed classes only."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    state = json.loads(str(arrays.pop(_STATE)))
    if state.get("format") != FORMAT:
        raise DatasetError(f"not a {FORMAT} file (format {state.get('format')!r})")
    return _Decoder(arrays).decode(state["estimator"])


class SafeEstimatorDataset(AbstractDataset[BaseEstimator, BaseEstimator]):
    """A fitted scikit-learn estimator <-> ``.npz`` (JSON state + arrays, no pickle).

    Example catalog entry::

        "{namespace}.sklearn_model_{model}":
          type: me_emotion.datasets.estimator_store.SafeEstimatorDataset
          filepath: data/06_models/{namespace}/{model}.estimator.npz
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> BaseEstimator:
        try:
            return loads(self._filepath.read_bytes())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise DatasetError(
                f"Cannot read estimator '{self._filepath}': {error}"
            ) from error

    def save(self, data: BaseEstimator) -> None:
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_bytes(dumps(data))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

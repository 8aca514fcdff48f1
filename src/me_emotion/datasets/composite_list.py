"""The MEGC 2019 composite list: an optional, header-less CSV ``dataset,subject,clip,label``.

.. code-block:: yaml

    composite_list:
      type: me_emotion.datasets.CompositeListDataset
      filepath: ${globals:composite_list_file}  # null: no list, class maps decide

Loads None when ``filepath`` is null; every cell as a string (``006`` stays
``006``, label ``0`` stays ``"0"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from me_emotion.core.composite import LIST_COLUMNS


class CompositeListDataset(AbstractDataset[None, pd.DataFrame | None]):
    """Read-only list of the composite's clips, or None when no file is configured.

    Args:
        filepath: the CSV, or None.
        metadata: free-form metadata (kedro-viz layer).
    """

    def __init__(self, filepath: str | None, metadata: dict[str, Any] | None = None):
        self.metadata = metadata
        if filepath is None:
            # Not fingerprinted while null: "no list" never re-runs the nodes.
            self.IGNORED_BY_RUN_STAMPS = True
        else:
            self._filepath = Path(filepath)

    def load(self) -> pd.DataFrame | None:
        path = getattr(self, "_filepath", None)
        if path is None:
            return None
        if not path.is_file():
            raise DatasetError(
                f"composite list {path} does not exist: fix composite_list_file in "
                "conf/local/globals.yml, or set it to null to derive the composite "
                "from the class maps"
            )
        table = pd.read_csv(
            path, header=None, dtype=str, skip_blank_lines=True, keep_default_na=False
        )
        if table.shape[1] != len(LIST_COLUMNS):
            raise DatasetError(
                f"composite list {path} has {table.shape[1]} columns; expected "
                f"{len(LIST_COLUMNS)} without a header: {','.join(LIST_COLUMNS)}"
            )
        table.columns = LIST_COLUMNS
        return table

    def save(self, data: Any) -> None:
        raise DatasetError("the composite list is read-only (it is the user's file)")

    def _exists(self) -> bool:
        path = getattr(self, "_filepath", None)
        return path is None or path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(getattr(self, "_filepath", None))}

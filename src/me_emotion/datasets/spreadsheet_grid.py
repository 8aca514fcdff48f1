"""A spreadsheet as a raw cell grid, written byte-for-byte reproducibly.

The coding spreadsheets of CASME-II and SAMM are not plain tables (SAMM has 13
preamble rows before its header, CASME-II blank header cells), so the grid is
saved as-is: row 0 of the DataFrame is row 1 of the sheet, and no index or
header row is added. Loading gives the same grid (``header=None`` semantics),
which is what the ingestion pipeline parses for real releases too.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from openpyxl import Workbook

# Fixed timestamp so the same grid always gives the same bytes.
_EPOCH = datetime(2000, 1, 1)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class SpreadsheetGridDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """``.xlsx`` file <-> DataFrame of cells (no header, no index).

    Args:
        filepath: ``.xlsx`` path.
        sheet_name: worksheet title to write (loading reads the first sheet).
        title: workbook title property (e.g. to label synthetic data).
        missing_hint: added to the error when the file does not exist (what
            to run or configure to get it).
    """

    def __init__(
        self,
        filepath: str,
        sheet_name: str = "Sheet1",
        title: str | None = None,
        missing_hint: str = "",
        metadata: dict[str, Any] | None = None,
    ):
        self._filepath = Path(filepath)
        self._sheet_name = sheet_name
        self._title = title
        self._missing_hint = missing_hint
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        if not self._filepath.is_file():
            raise DatasetError(
                f"Spreadsheet '{self._filepath}' does not exist. {self._missing_hint}".strip()
            )
        if self._filepath.stat().st_size == 0 or not zipfile.is_zipfile(self._filepath):
            what = (
                "it is empty"
                if self._filepath.stat().st_size == 0
                else "its content is not an .xlsx workbook (a text or CSV file, or an "
                "old binary .xls?)"
            )
            raise DatasetError(
                f"Spreadsheet '{self._filepath}' is not an Excel workbook: {what}. "
                "Open it in a spreadsheet program and save it as Excel .xlsx, or point "
                "the coding-file setting (conf/local/globals.yml) at the release's "
                "original .xlsx file."
            )
        try:
            return pd.read_excel(
                self._filepath, header=None, dtype=object, engine="openpyxl"
            )
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
            raise DatasetError(
                f"Spreadsheet '{self._filepath}' is not a readable Excel workbook "
                f"({error}). Save it again as .xlsx from a spreadsheet program."
            ) from error

    def save(self, data: pd.DataFrame) -> None:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = self._sheet_name
        for row in data.itertuples(index=False):
            sheet.append([_cell(value) for value in row])
        workbook.properties.creator = "me_emotion"
        workbook.properties.title = self._title
        workbook.properties.created = _EPOCH
        buffer = io.BytesIO()
        workbook.save(buffer)
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_bytes(_fixed_zip_timestamps(buffer.getvalue()))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "sheet_name": self._sheet_name}


def _fixed_zip_timestamps(xlsx: bytes) -> bytes:
    """Rewrite the xlsx zip with constant timestamps (openpyxl stamps 'now' on save)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                stamp = _EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                content = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            target.writestr(fixed, content)
    return out.getvalue()

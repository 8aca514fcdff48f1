"""Parse a CASME-II or SAMM coding spreadsheet as distributed.

The sheet arrives as a raw cell grid (``header=None``): CASME-II has its header
on the first row with two blank header cells; SAMM has 13 preamble rows before
its header. The header row is found by content, and columns are matched by
their letters only (``OnsetFrame`` and ``Onset Frame`` are the same column).
"""

from __future__ import annotations

import re

import pandas as pd

# canonical name -> header text as printed in the releases (for error messages)
REQUIRED_COLUMNS = {
    "subject": "Subject",
    "filename": "Filename",
    "onset": "Onset Frame",
    "apex": "Apex Frame",
    "offset": "Offset Frame",
    "action_units": "Action Units",
    "emotion": "Estimated Emotion",
}
OPTIONAL_COLUMNS = {
    "objective_class": "Objective Classes",
    "inducement_code": "Inducement Code",
    "notes": "Notes",
}
HEADER_SEARCH_ROWS = 50
_FIX_HINT = (
    "Point {dataset}_coding_file in conf/local/globals.yml at the release's "
    "coding spreadsheet (CASME2-coding-*.xlsx or SAMM_Micro_FACS_Codes_*.xlsx)."
)


def _header_key(cell: object) -> str:
    return re.sub(r"[^a-z]", "", str(cell).lower()) if pd.notna(cell) else ""


_KEY_TO_CANONICAL = {
    _header_key(text): name
    for name, text in {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}.items()
}


def find_header_row(grid: pd.DataFrame, coding_file: str, dataset: str) -> int:
    """Index of the first row holding both a ``Subject`` and a ``Filename`` cell."""
    for row_index in range(min(HEADER_SEARCH_ROWS, len(grid))):
        keys = {_header_key(cell) for cell in grid.iloc[row_index]}
        if {"subject", "filename"} <= keys:
            return row_index
    raise ValueError(
        f"{coding_file}: no header row with 'Subject' and 'Filename' cells in its "
        f"first {HEADER_SEARCH_ROWS} rows, so this is not a CASME-II/SAMM coding "
        "spreadsheet. " + _FIX_HINT.format(dataset=dataset)
    )


def read_coding_table(
    grid: pd.DataFrame, coding_file: str, dataset: str
) -> pd.DataFrame:
    """The coding rows under canonical column names, plus ``sheet_row``.

    ``sheet_row`` is the 1-based row number a person sees in the spreadsheet.
    Rows with every cell empty (trailing blank rows) are not clips and are skipped.

    Raises:
        ValueError: a required column is missing; the message names the column
            and the file.
    """
    header_row = find_header_row(grid, coding_file, dataset)
    positions: dict[str, int] = {}
    for position, cell in enumerate(grid.iloc[header_row]):
        canonical = _KEY_TO_CANONICAL.get(_header_key(cell))
        if canonical and canonical not in positions:
            positions[canonical] = position
    missing = [text for name, text in REQUIRED_COLUMNS.items() if name not in positions]
    if missing:
        found = [str(c) for c in grid.iloc[header_row] if pd.notna(c)]
        raise ValueError(
            f"{coding_file}: required column(s) {missing} missing from the header on "
            f"spreadsheet row {header_row + 1} (found: {found}). "
            + _FIX_HINT.format(dataset=dataset)
        )
    body = grid.iloc[header_row + 1 :]
    table = pd.DataFrame(
        {
            name: body.iloc[:, position].to_numpy()
            for name, position in positions.items()
        },
        dtype=object,
    )
    for name in OPTIONAL_COLUMNS:
        if name not in table:
            table[name] = None
    table["sheet_row"] = [header_row + 2 + i for i in range(len(body))]
    blank = table[list(positions)].isna().all(axis=1)
    return table.loc[~blank].reset_index(drop=True)


def parse_frame_number(value: object) -> int | None:
    """An integer frame number from a cell (int, integral float, digit string)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.0+)?", text):
        return int(float(text))
    return None


_AU_TOKEN = re.compile(
    r"^(?P<side>[LRBTU]?)(?:AU)?(?P<number>\d+)(?P<suffix>[A-Ea-e]?)$"
)


def parse_action_units(cell: object) -> tuple[list[str], list[str]]:
    """FACS codes of an Action Units cell, and the tokens that are not AUs.

    ``4+7+L10`` -> ``['AU4', 'AU7', 'AU10']``: side prefixes (``L``/``R``) and
    intensity letters are dropped, so the list is the multi-hot vocabulary.
    ``/`` ("or" in SAMM) lists both alternatives; ``?`` (unclear) is ignored.
    """
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return [], []
    text = str(cell).replace("?", "")
    if isinstance(cell, float) and cell.is_integer():
        text = str(int(cell))
    codes: set[int] = set()
    unparsed: list[str] = []
    for token in re.split(r"[+/,;&\s]+", text.upper()):
        if not token:
            continue
        match = _AU_TOKEN.match(token)
        if match:
            codes.add(int(match.group("number")))
        else:
            unparsed.append(token)
    return [f"AU{code}" for code in sorted(codes)], unparsed


def subject_folder(value: object, folder_format: str) -> str:
    """Folder name of a subject cell: ``6`` -> ``006`` with ``{subject:03d}``.

    Spreadsheet readers hand SAMM's ``006`` back as the integer 6, so numbers are
    formatted; a non-numeric cell (e.g. already ``sub01``) is used as written.
    """
    number = parse_frame_number(value)
    if number is None:
        return str(value).strip()
    return folder_format.format(subject=number)

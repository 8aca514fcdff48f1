"""A contact sheet: one row of face crops per class, for a person to look at."""

from __future__ import annotations

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BACKGROUND = (40, 40, 40)
_TEXT = (235, 235, 235)
_CAPTION = (170, 200, 255)
_TITLE_PX = 44
_LABEL_PX = 190
_CAPTION_PX = 18
_GAP_PX = 6


def _put(
    image: np.ndarray, text: str, origin: tuple[int, int], scale: float, colour
) -> None:
    cv2.putText(image, text, origin, _FONT, scale, colour, 1, cv2.LINE_AA)


def draw_sheet(
    rows: list[tuple[str, list[tuple[str, np.ndarray]]]],
    title: str,
    tile_px: int,
    columns: int,
) -> np.ndarray:
    """BGR image: a title line, then per row a label and up to ``columns`` tiles.

    Args:
        rows: ``(row label, [(caption, grayscale crop), ...])`` in display
            order; a ``\n`` in a label starts a second line.
        title: the first line.
        tile_px: side of a tile; crops are resized to it.
        columns: tiles per row.
    """
    cell = tile_px + _CAPTION_PX + _GAP_PX
    width = _LABEL_PX + max(columns, 1) * (tile_px + _GAP_PX) + _GAP_PX
    height = _TITLE_PX + max(len(rows), 1) * cell + _GAP_PX
    sheet = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    _put(sheet, title, (_GAP_PX, 28), 0.6, _TEXT)
    if not rows:
        _put(
            sheet,
            "no face crops: see face_rejects",
            (_GAP_PX, _TITLE_PX + 30),
            0.6,
            _CAPTION,
        )
    for r, (label, tiles) in enumerate(rows):
        top = _TITLE_PX + r * cell
        for i, line in enumerate(label.split("\n")):
            _put(sheet, line, (_GAP_PX, top + tile_px // 2 + 22 * i), 0.55, _TEXT)
        for c, (caption, crop) in enumerate(tiles[:columns]):
            left = _LABEL_PX + c * (tile_px + _GAP_PX)
            tile = cv2.resize(crop, (tile_px, tile_px), interpolation=cv2.INTER_AREA)
            sheet[top : top + tile_px, left : left + tile_px] = tile[:, :, None]
            _put(sheet, caption[:22], (left, top + tile_px + 13), 0.35, _CAPTION)
    return sheet

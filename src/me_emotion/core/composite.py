"""The MEGC 2019 composite's clips and 3-class labels (its CASME-II + SAMM part).

Membership and labels come from one of two sources, per dataset:

- ``official_list``: the challenge's list of clips (a header-less CSV,
  ``dataset,subject,clip,label``; label ``0`` negative, ``1`` positive, ``2``
  surprise; SAMM subjects unpadded, ``6`` for folder ``006``). It fixes the
  clips exactly; deriving them from the coding sheets gives a slightly
  different set. Rows of datasets without a loader (``smic``) are skipped and
  reported; a listed clip missing from the release is a reject row.
- ``class_map``: each dataset's raw emotion through its own class map (CASME-II
  fear and sadness are excluded, SAMM's are negative), used when no list is
  given, or for a dataset the list has no row for.

Both the feature stage (which clips to featurise) and the composite pipeline
(``composite.clip_labels``) call :func:`composite_clip_labels`, so they agree.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

COMPOSITE_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")
LIST_COLUMNS = ["dataset", "subject", "clip", "label"]
LIST_LABELS = {"0": "negative", "1": "positive", "2": "surprise"}
OFFICIAL_LIST = "official_list"
CLASS_MAP = "class_map"
CLIP_LABEL_COLUMNS = ["dataset", "subject", "clip", "label", "source"]
LABEL_REJECT_COLUMNS = ["dataset", "subject", "clip", "list_row", "reason"]


def subject_key(subject: Any) -> str:
    """A subject as the list and the clip index can both be matched on.

    ``sub01``, ``1``, ``006`` and ``6`` all give ``1``/``6``: the list writes SAMM
    subjects unpadded and the clip index keeps the folder's padding.
    """
    text = str(subject).strip().lower()
    digits = re.fullmatch(r"(?:sub|s)?0*(\d+)", text)
    return str(int(digits.group(1))) if digits else text


def parse_class_maps(params: Mapping[str, Any]) -> dict[str, dict[str, str | None]]:
    """``{dataset: {raw emotion (lower case): class}}`` of ``params['class_maps']``, checked.

    Raises:
        ValueError: a class outside ``COMPOSITE_CLASSES``.
    """
    maps = {}
    for dataset, mapping in dict(params["class_maps"]).items():
        maps[str(dataset)] = {
            str(k).strip().lower(): (None if v is None else str(v))
            for k, v in dict(mapping).items()
        }
        unknown = sorted(
            {v for v in maps[str(dataset)].values() if v is not None}
            - set(COMPOSITE_CLASSES)
        )
        if unknown:
            raise ValueError(
                f"composite.labels.class_maps.{dataset} maps to {unknown}; the "
                f"composite classes are {list(COMPOSITE_CLASSES)} "
                "(conf/base/parameters_composite.yml)"
            )
    return maps


def _from_class_map(
    dataset: str, clip_index: pd.DataFrame, class_map: dict[str, str | None] | None
) -> pd.DataFrame:
    if class_map is None:
        raise ValueError(
            f"composite.labels.class_maps has no map for {dataset} and the composite "
            "list (globals composite_list_file) has no row for it: add one to "
            "conf/base/parameters_composite.yml"
        )
    emotion = clip_index["emotion"].astype(str).str.strip().str.lower()
    labels = emotion.map(class_map.get)
    unmapped = sorted(set(emotion) - set(class_map))
    if unmapped:
        logger.info(
            "%s: emotions %s are not in its composite class map: left out",
            dataset,
            unmapped,
        )
    members = clip_index.loc[labels.notna(), ["subject", "clip"]].assign(
        dataset=dataset, label=labels[labels.notna()], source=CLASS_MAP
    )
    return members[CLIP_LABEL_COLUMNS]


def _from_list(
    dataset: str, clip_index: pd.DataFrame, rows: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Listed clips of one dataset found in its clip index; reject rows for the rest."""
    index = {
        (subject_key(s), str(c)): str(s)
        for s, c in zip(clip_index["subject"], clip_index["clip"])
    }
    kept, rejects, seen = [], [], set()
    for row in rows.itertuples():
        key = (subject_key(row.subject), str(row.clip).strip())
        reject = {
            "dataset": dataset,
            "subject": row.subject,
            "clip": row.clip,
            "list_row": row.list_row,
        }
        label = LIST_LABELS.get(str(row.label).strip())
        if label is None:
            rejects.append(
                {**reject, "reason": f"label {row.label!r} is not 0, 1 or 2"}
            )
        elif key in seen:
            rejects.append({**reject, "reason": "listed twice: the first row is kept"})
        elif key not in index:
            rejects.append(
                {
                    **reject,
                    "reason": f"in the composite list but not in the {dataset} "
                    f"release's clip index (see {dataset}.ingestion_rejects; check "
                    f"the {dataset}_root and {dataset}_coding_file globals)",
                }
            )
        else:
            seen.add(key)
            kept.append(
                {
                    "dataset": dataset,
                    "subject": index[key],
                    "clip": key[1],
                    "label": label,
                    "source": OFFICIAL_LIST,
                }
            )
    return pd.DataFrame(kept, columns=CLIP_LABEL_COLUMNS), rejects


def composite_clip_labels(
    clip_indexes: Mapping[str, pd.DataFrame],
    composite_list: pd.DataFrame | None,
    params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The composite's clips with their 3-class label and its source.

    Args:
        clip_indexes: ``{dataset: clip index}`` (``subject``, ``clip``, ``emotion``).
        composite_list: the challenge's list (``LIST_COLUMNS``, strings), or None.
        params: ``composite.labels`` (``class_maps``).

    Returns:
        ``(clip_labels, rejects)``: ``CLIP_LABEL_COLUMNS`` with subjects as the
        clip index writes them; ``LABEL_REJECT_COLUMNS``, one row per list row
        not used (``list_row`` counts from 1).
    """
    class_maps = parse_class_maps(params)
    rows = pd.DataFrame(columns=LIST_COLUMNS)
    if composite_list is not None:
        rows = composite_list.astype(str).apply(lambda c: c.str.strip())
        rows["dataset"] = rows["dataset"].str.lower()
    rows = rows.assign(list_row=range(1, len(rows) + 1))
    tables, rejects = [], []
    for dataset, clip_index in clip_indexes.items():
        listed = rows[rows["dataset"] == dataset]
        if len(listed):
            table, rejected = _from_list(dataset, clip_index, listed)
            rejects += rejected
        else:
            if composite_list is not None:
                logger.warning(
                    "The composite list has no %s row: %s clips come from its class map",
                    dataset,
                    dataset,
                )
            table = _from_class_map(dataset, clip_index, class_maps.get(dataset))
        tables.append(table)
    other = rows[~rows["dataset"].isin(list(clip_indexes))]
    rejects += [
        {
            "dataset": row.dataset,
            "subject": row.subject,
            "clip": row.clip,
            "list_row": row.list_row,
            "reason": f"skipped: no {row.dataset} release is read by this project "
            f"(it reads {sorted(clip_indexes)})",
        }
        for row in other.itertuples()
    ]
    labels = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=CLIP_LABEL_COLUMNS)
    )
    labels = labels.sort_values(["dataset", "subject", "clip"]).reset_index(drop=True)
    return labels, pd.DataFrame(rejects, columns=LABEL_REJECT_COLUMNS)

"""Checks of a stage's parameter block, so a typo fails before any work."""

from __future__ import annotations

from typing import Any


def check_parameter_keys(
    params: dict[str, Any], expected: set[str], section: str, file: str
) -> None:
    """Raise if ``params`` lacks a key of ``expected`` or has one outside it.

    Args:
        params: the parameter block.
        expected: its keys.
        section: its name for the message, e.g. ``"casme2.face_detection"``.
        file: the YAML file that defines it, named in the message.
    """
    unknown = sorted(set(params) - expected)
    missing = sorted(expected - set(params))
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown key(s) {unknown}")
        if missing:
            problems.append(f"missing key(s) {missing}")
        raise ValueError(
            f"params:{section}: {' and '.join(problems)}; expected exactly "
            f"{sorted(expected)} (see {file})"
        )

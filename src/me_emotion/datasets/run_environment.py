"""What a run ran on: package versions and the CPU's model and instruction-set flags.

Read-only, so nodes receive the values instead of looking them up:

.. code-block:: yaml

    run_environment:
      type: me_emotion.datasets.RunEnvironmentDataset
      packages: [me_emotion, kedro, plotly]  # distribution names
      cpu_flags: [avx2, avx512f, avx512_bf16, amx_bf16, amx_tile]  # optional

``load()`` returns::

    {
        "python": "3.11.9",
        "packages": {
            "me_emotion": "0.4.0",
            "kedro": "1.7.0",
            "plotly": "not installed",
        },
        "cpu": {"model": "Intel(R) Xeon(R) ...", "flags": ["amx_bf16", "avx2", ...]},
    }

``cpu.flags`` lists the configured flags (``cpu_flags``) this CPU has, sorted:
the ones that decide which numeric precision and kernels pay off. They come
from ``/proc/cpuinfo`` (Linux); where it is absent the model comes from
``platform`` and the list is empty, since nothing there says which flags exist.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import JSONPreview

NOT_INSTALLED = "not installed"
DEFAULT_PACKAGES = ("me_emotion", "kedro")  # the catalog entry lists the rest
# Instruction sets that change which precision (float32 / bfloat16) and
# kernels are fast on a CPU.
DEFAULT_CPU_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
CPUINFO = "/proc/cpuinfo"


def package_versions(packages: Sequence[str]) -> dict[str, str]:
    """``{name: installed version}``, ``not installed`` for a package that is absent."""
    versions = {}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = NOT_INSTALLED
    return versions


def cpu_description(cpuinfo: str | None, flags: Sequence[str]) -> dict[str, Any]:
    """``{"model": ..., "flags": [...]}`` from the text of ``/proc/cpuinfo``.

    Args:
        cpuinfo: the file's text, or None where there is none (then the model
            comes from ``platform`` and no flag is listed).
        flags: the flags to look for; the result lists those present, sorted.
    """
    fallback = platform.processor() or platform.machine() or "unknown"
    if cpuinfo is None:
        return {"model": fallback, "flags": []}
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        # the first processor's block describes them all
        fields.setdefault(key.strip(), value.strip())
    # x86 names the model "model name"; ARM kernels "Hardware" / "CPU part";
    # x86 lists "flags", ARM "Features"
    model = fields.get("model name") or fields.get("Hardware") or fallback
    present = set((fields.get("flags") or fields.get("Features") or "").split())
    return {"model": model, "flags": sorted(present & set(flags))}


class RunEnvironmentDataset(AbstractDataset[None, dict[str, Any]]):
    """Read-only: the run's Python, package versions and CPU model + flags.

    Args:
        packages: distribution names whose versions are recorded.
        cpu_flags: instruction-set flags looked for in ``cpuinfo``.
        cpuinfo: path of the CPU description (``/proc/cpuinfo``); a missing
            file means a platform without one.
        metadata: free-form metadata (kedro-viz layer).
    """

    # IncrementalRunner: the report re-runs when a version or the CPU changes
    RUN_STAMP_BY_CONTENT = True

    def __init__(
        self,
        packages: Sequence[str] = DEFAULT_PACKAGES,
        cpu_flags: Sequence[str] = DEFAULT_CPU_FLAGS,
        cpuinfo: str = CPUINFO,
        metadata: dict[str, Any] | None = None,
    ):
        for name, value in (("packages", packages), ("cpu_flags", cpu_flags)):
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise DatasetError(
                    f"RunEnvironmentDataset: {name} must be a list of names, got "
                    f"{value!r}; fix the run_environment entry of the catalog"
                )
        self._packages = list(packages)
        self._cpu_flags = list(cpu_flags)
        self._cpuinfo = Path(cpuinfo)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        try:
            cpuinfo = self._cpuinfo.read_text()
        except OSError:
            cpuinfo = None
        return {
            "python": platform.python_version(),
            "packages": package_versions(self._packages),
            "cpu": cpu_description(cpuinfo, self._cpu_flags),
        }

    def save(self, data: dict[str, Any]) -> None:
        raise DatasetError(
            "run_environment is read-only: it describes the machine the run is on"
        )

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {
            "packages": self._packages,
            "cpu_flags": self._cpu_flags,
            "cpuinfo": str(self._cpuinfo),
        }

    def preview(self) -> JSONPreview:
        """The loaded description as JSON, shown in kedro-viz' side panel."""
        return JSONPreview(json.dumps(self.load(), indent=2))

"""RunEnvironmentDataset: package versions and CPU flags, read-only."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest
import yaml
from kedro.io import DataCatalog, DatasetError

from me_emotion.datasets import RunEnvironmentDataset
from me_emotion.node_signature import dataset_fingerprint
from tests.conftest import PROJECT_ROOT

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse4_2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile
processor\t: 1
model name\t: a second block that must not win
flags\t\t: fpu
"""
ARM_CPUINFO = """\
processor\t: 0
Features\t: fp asimd sve bf16
CPU part\t: 0xd40
"""


def test_lists_the_configured_packages_and_marks_absent_ones(tmp_path):
    data = RunEnvironmentDataset(
        packages=["kedro", "no-such-package-here"], cpuinfo=str(tmp_path / "none")
    ).load()
    assert data["packages"] == {
        "kedro": version("kedro"),
        "no-such-package-here": "not installed",
    }


def test_keeps_the_cpu_flags_that_matter_from_the_first_processor(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(X86_CPUINFO)
    cpu = RunEnvironmentDataset(packages=[], cpuinfo=str(cpuinfo)).load()["cpu"]
    assert cpu["model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert cpu["flags"] == [
        "amx_bf16",
        "amx_tile",
        "avx",
        "avx2",
        "avx512_bf16",
        "avx512f",
        "sse4_2",
    ]
    assert "fpu" not in cpu["flags"]  # not a flag the catalog asks about


def test_a_configured_flag_list_narrows_what_is_reported(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(X86_CPUINFO)
    dataset = RunEnvironmentDataset(
        packages=[], cpu_flags=["amx_bf16", "avx512_fp16"], cpuinfo=str(cpuinfo)
    )
    assert dataset.load()["cpu"]["flags"] == ["amx_bf16"]


def test_reads_arm_features_too(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(ARM_CPUINFO)
    dataset = RunEnvironmentDataset(
        packages=[], cpu_flags=["bf16", "sve", "avx2"], cpuinfo=str(cpuinfo)
    )
    assert dataset.load()["cpu"]["flags"] == ["bf16", "sve"]


def test_without_cpuinfo_the_model_comes_from_platform_and_no_flag_is_claimed(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("platform.processor", lambda: "test-processor")
    cpu = RunEnvironmentDataset(packages=[], cpuinfo=str(tmp_path / "absent")).load()[
        "cpu"
    ]
    assert cpu == {"model": "test-processor", "flags": []}


def test_is_read_only(tmp_path):
    dataset = RunEnvironmentDataset(packages=[], cpuinfo=str(tmp_path / "none"))
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save({"packages": {}})
    assert dataset.exists()


def test_a_package_name_instead_of_a_list_is_refused():
    with pytest.raises(DatasetError, match="packages must be a list"):
        RunEnvironmentDataset(packages="kedro")


def test_preview_is_the_loaded_json(tmp_path):
    dataset = RunEnvironmentDataset(packages=["kedro"], cpuinfo=str(tmp_path / "none"))
    assert json.loads(dataset.preview()) == dataset.load()


def test_the_catalog_entry_loads_through_kedro():
    config = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/catalog_reporting.yml").read_text()
    )
    catalog = DataCatalog.from_config({"run_environment": config["run_environment"]})
    data = catalog.load("run_environment")
    assert data["packages"]["kedro"] == version("kedro")
    assert set(data["packages"]) >= {"me_emotion", "kedro", "plotly"}
    assert set(data["cpu"]) == {"model", "flags"}
    assert config["run_environment"]["metadata"]["kedro-viz"]["layer"]


def test_incremental_runner_stamps_it_by_its_content(tmp_path):
    """Unchanged machine: the same stamp (reports are skipped); new CPU flags: another."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(X86_CPUINFO)
    catalog = DataCatalog(
        {"run_environment": RunEnvironmentDataset(packages=[], cpuinfo=str(cpuinfo))}
    )
    first = dataset_fingerprint("run_environment", catalog)
    assert first not in (None, "unknown")
    assert dataset_fingerprint("run_environment", catalog) == first
    cpuinfo.write_text(X86_CPUINFO.replace(" amx_bf16", ""))
    assert dataset_fingerprint("run_environment", catalog) != first

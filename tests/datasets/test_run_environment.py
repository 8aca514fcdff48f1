from __future__ import annotations

from me_emotion.core.vgg16 import resolve_precision
from me_emotion.datasets import RunEnvironmentDataset


def test_cpu_flags_come_from_the_cpuinfo_file_and_decide_auto_precision(tmp_path):
    amx = tmp_path / "cpuinfo"
    amx.write_text(
        "processor\t: 0\nmodel name\t: Test Xeon\nflags\t\t: fpu avx2 amx_bf16\n"
    )
    environment = RunEnvironmentDataset(packages=["kedro"], cpuinfo=str(amx)).load()
    assert environment["cpu"] == {"model": "Test Xeon", "flags": ["amx_bf16", "avx2"]}
    assert set(environment["packages"]) == {"kedro"}
    assert resolve_precision("auto", environment["cpu"]["flags"]) == "bfloat16"
    avx2 = tmp_path / "avx2"
    avx2.write_text("model name\t: Test EPYC\nflags\t\t: fpu avx2\n")
    flags = RunEnvironmentDataset(cpuinfo=str(avx2)).load()["cpu"]["flags"]
    assert resolve_precision("auto", flags) == "float32"


def test_no_cpuinfo_file_means_no_flags(tmp_path):
    environment = RunEnvironmentDataset(cpuinfo=str(tmp_path / "absent")).load()
    assert environment["cpu"]["flags"] == []
    assert resolve_precision("auto", environment["cpu"]["flags"]) == "float32"

"""The layering rule of docs/architecture.md, checked on the source tree.

Stages (``me_emotion.pipelines.<stage>``) import ``core``, ``datasets`` and
top-level helpers, never another stage; ``core`` imports no stage, no dataset
class and no Kedro.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "me_emotion"


def imported_modules(path: Path, source: str | None = None) -> list[str]:
    """Absolute module names a file of the package imports (relative ones resolved)."""
    text = path.read_text() if source is None else source
    tree = ast.parse(text, filename=str(path))
    package = ("me_emotion", *path.relative_to(PACKAGE).parent.parts)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
            else:
                module = node.module or ""
            names.append(module)
            # `from me_emotion.pipelines import training` imports a stage too
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["me_emotion", "pipelines"] and len(parts) > 2:
        return parts[2]
    return None


def _stage_files() -> list[tuple[str, Path]]:
    root = PACKAGE / "pipelines"
    return [
        (folder.name, path)
        for folder in sorted(root.iterdir())
        if folder.is_dir() and (folder / "__init__.py").exists()
        for path in sorted(folder.rglob("*.py"))
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from me_emotion.pipelines.reporting import tables\n",
        "from me_emotion.pipelines import reporting\n",
        "from ..reporting.tables import metric_table\n",
        "import me_emotion.pipelines.reporting.nodes\n",
    ],
)
def test_the_rule_sees_a_cross_stage_import(source):
    """The checker itself: every spelling of a cross-stage import is found."""
    planted = PACKAGE / "pipelines" / "training" / "planted.py"
    stages = {stage_of(m) for m in imported_modules(planted, source)} - {None}
    assert stages == {"reporting"}


@pytest.mark.parametrize(
    ("stage", "path"),
    _stage_files(),
    ids=lambda value: str(value).rsplit("src/me_emotion/", 1)[-1],
)
def test_no_stage_imports_another_stage(stage, path):
    others = {stage_of(module) for module in imported_modules(path)} - {None, stage}
    assert not others, (
        f"{path.relative_to(PACKAGE)} imports stage(s) {sorted(others)}: move the "
        "shared code to me_emotion.core (see docs/architecture.md)"
    )


def test_core_imports_no_stage_dataset_or_kedro():
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        for module in imported_modules(path):
            assert not module.startswith(
                ("me_emotion.pipelines", "me_emotion.datasets", "kedro")
            ), f"{path.relative_to(PACKAGE)} imports {module}"


def test_the_pipeline_registry_loads_without_tensorflow():
    """Every `kedro run` and `me-emotion-video` builds the registry at start-up;
    TensorFlow (seconds to import) loads only when a node builds or runs a model."""
    code = (
        "import sys\n"
        "from me_emotion.pipeline_registry import register_pipelines\n"
        "pipelines = register_pipelines()\n"
        "assert 'video' in pipelines and 'casme2' in pipelines, sorted(pipelines)\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "none"

"""A node's code is its module plus the project modules it imports, transitively."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from me_emotion import code_closure
from me_emotion.code_closure import closure_digest, module_closure


@pytest.fixture
def package(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "closure_pkg"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "sub/__init__.py": "",
        "nodes.py": (
            '"""Nodes."""\n'
            "from .helpers import scale\n"
            "def node(x):\n"
            "    from closure_pkg.sub import late  # imported inside the function\n"
            "    return late.shift(scale(x))\n"
        ),
        "helpers.py": "import json\ndef scale(x):\n    return 2 * x\n",
        "sub/late.py": "from .. import helpers\ndef shift(x):\n    return x + 1\n",
        "unrelated.py": "def other():\n    return 0\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    code_closure._package_root.cache_clear()  # each test has its own tmp_path
    yield root
    code_closure._package_root.cache_clear()
    for name in [m for m in sys.modules if m.startswith("closure_pkg")]:
        del sys.modules[name]


def test_the_closure_follows_relative_absolute_and_function_level_imports(package):
    assert list(module_closure("closure_pkg.nodes")) == [
        "closure_pkg",
        "closure_pkg.helpers",
        "closure_pkg.nodes",
        "closure_pkg.sub",
        "closure_pkg.sub.late",
    ]  # not closure_pkg.unrelated, not json


def test_an_imported_modules_code_change_changes_the_digest_but_not_a_comment(package):
    before = closure_digest("closure_pkg.nodes")
    helpers = package / "helpers.py"
    helpers.write_text(
        '"""Helpers, now documented."""\nimport json\n\n'
        "def scale(x):  # twice\n    return 2 * x\n"
    )
    assert closure_digest("closure_pkg.nodes") == before
    (package / "unrelated.py").write_text("def other():\n    return 1\n")
    assert closure_digest("closure_pkg.nodes") == before
    (package / "sub" / "late.py").write_text(
        "from .. import helpers\ndef shift(x):\n    return x + 2\n"
    )
    changed = closure_digest("closure_pkg.nodes")
    assert changed != before
    helpers.write_text("import json\ndef scale(x):\n    return 3 * x\n")
    assert closure_digest("closure_pkg.nodes") not in (before, changed)


def test_a_training_node_counts_the_model_code_it_calls():
    closure = module_closure("me_emotion.pipelines.training.nodes")
    for module in (
        "me_emotion.core.architectures",
        "me_emotion.pipelines.training.fitting",
        "me_emotion.pipelines.training.evaluation",
        "me_emotion.pipelines.training.builders",
    ):
        assert module in closure
    assert "me_emotion.pipelines.reporting.nodes" not in closure

"""The code fingerprint of a node: partials, wrappers, bound methods, lambdas.

A node whose code the runner cannot fingerprint would re-run on every
incremental run (issue 22: the ``functools.partial`` training nodes did), so
every node of every registered pipeline must have one.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from functools import partial, update_wrapper
from pathlib import Path

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro_datasets.json import JSONDataset

from me_emotion.fingerprint import fingerprint
from me_emotion.node_signature import (
    NodeFingerprintError,
    _file_digest,
    code_fingerprint,
    node_code,
)
from me_emotion.pipeline_registry import register_pipelines
from me_emotion.runner import IncrementalRunner

from .conftest import TRAINED, run_pipeline

HERE = _file_digest(Path(__file__))


def train(model: str, data: int, scale: float = 1.0) -> float:
    return data * scale


def other(model: str, data: int, scale: float = 1.0) -> float:
    return data + scale


def _decorated(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


class Trainer:
    def __init__(self, epochs: int):
        self.epochs = epochs
        self.names = ["a", "b"]

    def fit(self, data: int) -> int:
        return data * self.epochs

    def __call__(self, data: int) -> int:
        return data


def _scaled(k: float):
    return lambda x: x * k


def test_a_plain_function_is_its_module_name_and_source():
    # pinned: what the digest is made of, hand-assembled
    expected = fingerprint([__name__, "train", HERE, []])
    assert code_fingerprint(train) == expected
    assert code_fingerprint(other) != expected  # same file, another function


def test_a_partial_is_stable_and_changes_with_its_bound_arguments():
    base = code_fingerprint(partial(train, "svm"))
    assert code_fingerprint(partial(train, "svm")) == base  # a new object, same value
    assert code_fingerprint(partial(train, "ann")) != base
    assert code_fingerprint(partial(train, "svm", scale=2.0)) != base
    assert code_fingerprint(partial(other, "svm")) != base
    assert code_fingerprint(train) != base
    assert base == fingerprint(
        [
            "partial",
            [__name__, "train", HERE, []],
            ["list", ["svm"]],
            ["dict", []],
        ]
    )


def test_nested_partials_and_update_wrapper_chains():
    # as the training pipeline builds its nodes
    def node_func(model: str):
        return update_wrapper(partial(train, model), train)

    assert code_fingerprint(node_func("svm")) == code_fingerprint(node_func("svm"))
    assert code_fingerprint(node_func("svm")) != code_fingerprint(node_func("ann"))

    nested = partial(partial(train, "svm"), scale=2.0)
    assert code_fingerprint(nested) == code_fingerprint(
        partial(partial(train, "svm"), scale=2.0)
    )
    assert code_fingerprint(nested) != code_fingerprint(
        partial(partial(train, "svm"), scale=3.0)
    )
    assert code_fingerprint(nested) != code_fingerprint(
        partial(partial(train, "ann"), scale=2.0)
    )


def test_wraps_decorators_are_followed_to_the_function():
    assert code_fingerprint(_decorated(train)) == code_fingerprint(_decorated(train))
    assert code_fingerprint(_decorated(train)) != code_fingerprint(_decorated(other))


def test_bound_methods_and_callable_objects_by_their_object():
    assert code_fingerprint(Trainer(3).fit) == code_fingerprint(Trainer(3).fit)
    assert code_fingerprint(Trainer(3).fit) != code_fingerprint(Trainer(4).fit)
    assert code_fingerprint(Trainer(3)) == code_fingerprint(Trainer(3))
    assert code_fingerprint(Trainer(3)) != code_fingerprint(Trainer(4))
    assert code_fingerprint(Trainer(3)) != code_fingerprint(Trainer(3).fit)


def test_a_bound_object_without_a_stable_value_counts_by_its_class():
    class Opaque:
        __slots__ = ()

        def run(self) -> None:
            return None

    # object() has neither fields nor a stable repr: its class stands for it
    assert code_fingerprint(Opaque().run) == code_fingerprint(Opaque().run)


def test_lambdas_by_their_source_and_closure():
    assert code_fingerprint(_scaled(2.0)) == code_fingerprint(_scaled(2.0))
    assert code_fingerprint(_scaled(2.0)) != code_fingerprint(_scaled(3.0))
    assert code_fingerprint(lambda x: x) != code_fingerprint(_scaled(2.0))


def test_a_code_change_changes_the_fingerprint(tmp_path: Path):
    module_file = tmp_path / "node_module_for_fingerprint.py"

    def load():
        spec = importlib.util.spec_from_file_location(module_file.stem, module_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return partial(module.step, 1)

    module_file.write_text("def step(a, b):\n    return a + b\n")
    before = code_fingerprint(load())
    assert code_fingerprint(load()) == before
    module_file.write_text("def step(a, b):\n    return a - b\n")
    assert code_fingerprint(load()) != before


def test_an_unstable_bound_value_is_an_error_naming_the_node():
    node = Node(partial(train, object()), "data", "out", name="train_opaque")
    with pytest.raises(NodeFingerprintError, match="train_opaque.*memory address"):
        node_code(node)
    with pytest.raises(NodeFingerprintError, match="no source file"):
        code_fingerprint(partial(train, eval("lambda: 0")))  # noqa: S307


def test_every_node_of_every_registered_pipeline_has_a_code_fingerprint():
    pipelines = register_pipelines()
    nodes = {node.name: node for p in pipelines.values() for node in p.nodes}
    codes = {name: node_code(node) for name, node in nodes.items()}  # no error
    assert "unknown" not in codes.values()
    assert all(len(code) == 20 for code in codes.values())  # noqa: PLR2004
    # the training nodes: one function, each bound to its own model
    train_nodes = [name for name in codes if name.startswith("casme2.train_")]
    assert len(train_nodes) > 1
    assert len({codes[name] for name in train_nodes}) == len(train_nodes)


def double(value: int) -> int:
    return 2 * value


def add(value: int, offset: int) -> dict:
    return {"sum": value + offset}


def _memory_pipeline_run(tmp_path: Path, offset: int) -> set[str]:
    """``double`` -> in-memory ``doubled`` -> ``add`` -> a JSON file; what ran."""
    pipeline = Pipeline(
        [
            Node(double, "params:value", "doubled", name="double"),
            Node(add, ["doubled", "params:offset"], "total", name="add"),
        ]
    )
    catalog = DataCatalog(
        datasets={
            "params:value": MemoryDataset(3),
            "params:offset": MemoryDataset(offset),
            "total": JSONDataset(filepath=str(tmp_path / "total.json")),
        }
    )
    stamps = tmp_path / "stamps"
    before = {p.name: p.stat().st_mtime_ns for p in stamps.glob("*.json")}
    IncrementalRunner(stamps=str(stamps)).run(pipeline, catalog)
    return {
        json.loads(p.read_text())["node"]
        for p in stamps.glob("*.json")
        if before.get(p.name) != p.stat().st_mtime_ns
    }


def test_an_in_memory_dataset_between_nodes_is_made_on_demand(tmp_path: Path):
    total = tmp_path / "total.json"
    assert _memory_pipeline_run(tmp_path, 1) == {"double", "add"}
    assert json.loads(total.read_text()) == {"sum": 7}
    # unchanged: neither runs although ``doubled`` is gone with the last run
    assert _memory_pipeline_run(tmp_path, 1) == set()
    # the reader's parameter changed: the skipped producer runs again for it
    assert _memory_pipeline_run(tmp_path, 10) == {"double", "add"}
    assert json.loads(total.read_text()) == {"sum": 16}
    assert _memory_pipeline_run(tmp_path, 10) == set()


def test_a_second_incremental_run_of_casme2_runs_no_node(trained_run, trained_project):
    """The shared project's cold run went through the incremental runner (conftest)."""
    stamps = trained_project / "data/09_run_stamps"
    assert "casme2.train_hybrid_micronet" in trained_run.cold
    codes = [json.loads(p.read_text())["signature"]["code"] for p in stamps.iterdir()]
    assert "unknown" not in codes
    first = {p.name: json.loads(p.read_text()) for p in stamps.iterdir()}
    before = {p.name: p.stat().st_mtime_ns for p in stamps.glob("*.json")}
    run_pipeline(
        trained_project,
        "casme2",
        TRAINED,
        runner=IncrementalRunner(stamps=str(stamps)),
    )
    again = {
        json.loads(p.read_text())["node"]
        for p in stamps.glob("*.json")
        if before.get(p.name) != p.stat().st_mtime_ns
    }
    changed = {
        name: {
            key: [
                first[f"{name}.json"].get(key),
                json.loads((stamps / f"{name}.json").read_text()).get(key),
            ]
            for key in ("signature", "outputs")
        }
        for name in again
    }
    assert again == set(), json.dumps(changed, indent=1)

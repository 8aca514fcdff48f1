"""Every dataset a pipeline touches is declared, and every parameter is used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def context() -> Iterator:
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        yield session.load_context()


@pytest.mark.integration
def test_unknown_names_are_not_in_the_catalog(context):
    assert "casme2.no_such_stage" not in context.catalog


@pytest.mark.integration
@pytest.mark.parametrize("name", ["synthetic", "casme2", "samm", "video"])
def test_every_dataset_is_declared(context, name):
    """Nothing silently lives only in memory: each dataset is a catalog entry or factory."""
    catalog = context.catalog  # built anew on each access: once, not per dataset
    datasets = pipelines[name].datasets()
    undeclared = sorted(
        d for d in datasets if not d.startswith("params:") and d not in catalog
    )
    assert not undeclared


@pytest.mark.integration
def test_every_parameter_group_is_used(context):
    used = {
        d.removeprefix("params:")
        for pipeline in pipelines.values()
        for d in pipeline.inputs() | pipeline.datasets()
        if d.startswith("params:")
    }
    unused = []
    for top, value in context.params.items():
        if top in used:
            continue
        children = value if isinstance(value, dict) else {}
        unused += [
            f"{top}.{child}" for child in children if f"{top}.{child}" not in used
        ]
        if not children:
            unused.append(top)
    assert not unused


def test_registry_lists_the_pipelines():
    bootstrap_project(PROJECT_ROOT)  # run alone (--fast), nothing else has
    assert {"synthetic", "casme2", "samm", "video", "__default__"} <= set(pipelines)

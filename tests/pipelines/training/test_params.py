"""The paper's settings: the `paper` configuration environment, deep-merged over base."""

from __future__ import annotations

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from me_emotion.parameters import validate_parameters
from me_emotion.pipelines.training.pipeline import SHARED_PARAMETERS
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration  # every test loads the project (KedroSession)


def _params(env: str | None) -> dict:
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env=env) as session:
        return session.load_context().params


@pytest.fixture(scope="module")
def base() -> dict:
    return _params(None)  # conf/base + conf/local (the default run)


@pytest.fixture(scope="module")
def paper() -> dict:
    return _params("paper")


@pytest.mark.parametrize("namespace", ["casme2", "samm", "composite"])
def test_env_paper_selects_the_method_settings_and_keeps_the_rest(
    base, paper, namespace
):
    default, method = base[namespace]["training"], paper[namespace]["training"]
    assert default["image"]["size"] == 48
    assert default["models"]["hybrid_micronet_paper"]["epochs"] < 50
    assert method["image"] == {"size": 224, "border_px": 3}
    for model in ("hybrid_micronet_paper", "cnn", "ann"):
        assert method["models"][model]["epochs"] == 50
    # a deep merge: what conf/paper/ does not name keeps its base value
    assert method["models"]["hybrid_micronet_paper"] == {
        **default["models"]["hybrid_micronet_paper"],
        "epochs": 50,
    }
    assert method["models"]["hybrid_micronet"] == default["models"]["hybrid_micronet"]
    assert method["models"]["svm"] == default["models"]["svm"]
    assert method["classes"] == default["classes"]
    assert paper[namespace].get("feature_extraction") == base[namespace].get(
        "feature_extraction"
    )


def test_both_environments_pass_the_startup_validation(base, paper):
    assert validate_parameters(base) == []
    assert validate_parameters(paper) == []


def test_every_shared_parameter_of_the_model_nodes_exists(base):
    block = base["casme2"]["training"]
    for name in SHARED_PARAMETERS:
        assert name.removeprefix("params:training.") in block, name

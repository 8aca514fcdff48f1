"""The training parameter block: profiles and key checks."""

from __future__ import annotations

import pytest

from me_emotion.pipelines.training.nodes import resolve_training_params


def test_the_paper_profile_restores_the_method_settings(project_training_params):
    default = resolve_training_params(project_training_params)
    paper = resolve_training_params({**project_training_params, "profile": "paper"})
    assert default["image"]["size"] == 48
    assert paper["image"] == {"size": 224, "border_px": 3}
    assert paper["models"]["hybrid_micronet"]["epochs"] == 50
    # what the profile does not name is kept
    assert paper["models"]["hybrid_micronet"]["momentum"] == 0.5
    assert paper["models"]["hybrid_micronet"]["batch_size"] == 32
    assert paper["models"]["svm"] == default["models"]["svm"]


def test_bad_blocks_are_refused(project_training_params):
    with pytest.raises(ValueError, match="profile"):
        resolve_training_params({**project_training_params, "profile": "huge"})
    with pytest.raises(ValueError, match="unknown key"):
        resolve_training_params({**project_training_params, "epochs": 3})
    models = dict(project_training_params["models"])
    del models["svm"]
    with pytest.raises(ValueError, match="lacks"):
        resolve_training_params({**project_training_params, "models": models})

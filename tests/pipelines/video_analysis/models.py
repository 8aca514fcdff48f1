"""Tiny untrained CASME-II / SAMM models written where the catalog expects the real ones.

The video pipeline only needs models with the right inputs and outputs; the
real ones take minutes to train (``kedro run --pipelines=casme2``), these
take a second to build.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from me_emotion.core import architectures

CLASSES = {
    "casme2": ["happiness", "disgust", "surprise", "repression", "others"],
    "samm": ["anger", "contempt", "happiness", "surprise", "other"],
}
# LOSO UF1 the tiny models "reached": auto picks flow_cnn for casme2, hybrid_micronet for samm
TINY_LOSO_UF1 = {
    "casme2": {"hybrid_micronet": 0.2, "flow_cnn": 0.6},
    "samm": {"hybrid_micronet": 0.5, "flow_cnn": 0.3},
}
# Runtime parameters matching the tiny models: small images, random VGG-16, fast flow.
TINY_MODEL_PARAMS = {
    "vgg16_weights": None,  # the catalog's {namespace}.vgg16_weights: random weights
    **{
        namespace: {
            "training": {"image": {"size": 32, "border_px": 1}},
            "feature_extraction": {
                "image": {"size": 32, "border_px": 1},
                "execution": "graph",
                "flow": {"method": "farneback", "grid": 8},
            },
        }
        for namespace in CLASSES
    },
}


def _always_first_class(model):
    """The model with constant class scores preferring its first class.

    Untrained weights would label intervals at random (a test could then see
    every interval as "others" by chance); this way casme2 always says
    happiness (group positive) and samm anger (group negative). Every
    ``*logits`` layer (the flow CNN's one, each HybridMicroNet head's) is set.
    """
    logits = [layer for layer in model.layers if layer.name.endswith("logits")]
    assert logits, f"{model.name}: no logits layer"
    for layer in logits:
        kernel, bias = layer.get_weights()
        bias = np.zeros_like(bias)
        bias[0] = 3.0
        layer.set_weights([np.zeros_like(kernel), bias])
    return model


def write_tiny_models(
    project: Path, source: str = "synthetic", image_size: int = 32, grid: int = 8
) -> None:
    """HybridMicroNet and flow CNN per namespace, its ``data_source.json``, metrics and intervals.

    The defaults match ``TINY_MODEL_PARAMS``; ``image_size=48, grid=28`` match
    conf/base (for runs that cannot pass runtime parameters).
    """
    for namespace, classes in CLASSES.items():
        folder = project / "data" / "06_models" / namespace
        folder.mkdir(parents=True, exist_ok=True)
        hybrid = architectures.build_onset_hybrid(  # conf/base's branches and channels
            {
                architectures.IMAGE_DELTA_INPUT: (image_size, image_size, 1),
                architectures.EMBEDDING_DELTA_INPUT: (512,),
                architectures.FLOW_INPUT: (grid, grid, 2),
            },
            len(classes),
            filters=[2, 2, 2],
            embedding_units=4,
            branch_filters=[1, 2, 3],
        )
        _always_first_class(hybrid).save(folder / "hybrid_micronet.keras")
        flow = architectures.build_flow_cnn(
            grid, 2, len(classes), branch_filters=[1, 2, 3]
        )
        _always_first_class(flow).save(folder / "flow_cnn.keras")
        reporting = project / "data" / "08_reporting" / namespace
        reporting.mkdir(parents=True, exist_ok=True)
        (reporting / "data_source.json").write_text(
            json.dumps({"dataset": namespace, "source": source})
        )
        uf1 = TINY_LOSO_UF1[namespace]
        pd.DataFrame(
            [
                {"protocol": protocol, "model": model, "level": "clip", "uf1": value}
                for model, value in uf1.items()
                for protocol in ("loso", "paper_random_split")
            ]
        ).assign(chance_uf1=0.2).to_csv(reporting / "metrics.csv", index=False)
        pd.DataFrame(
            [
                {
                    "protocol": "loso",
                    "model": model,
                    "level": "clip",
                    "uf1": value,
                    "uf1_low": value - 0.1,
                    "uf1_high": value + 0.1,
                    "confidence": 0.95,
                }
                for model, value in uf1.items()
            ]
        ).to_csv(reporting / "bootstrap_intervals.csv", index=False)

"""Tiny untrained CASME-II / SAMM models written where the catalog expects the real ones.

The video pipeline only needs models with the right inputs and outputs; the
real ones take minutes to train (``kedro run --pipelines=casme2``), these
take a second to build.
"""

from __future__ import annotations

import json
from pathlib import Path

from me_emotion.core import architectures

CLASSES = {
    "casme2": ["happiness", "disgust", "surprise", "repression", "others"],
    "samm": ["anger", "contempt", "happiness", "surprise", "other"],
}
# Runtime parameters matching the tiny models: small images, random VGG-16, fast flow.
TINY_MODEL_PARAMS = {
    namespace: {
        "training": {"image": {"size": 32, "border_px": 1}},
        "feature_extraction": {
            "vgg16_weights": None,
            "image": {"size": 32, "border_px": 1},
            "execution": "graph",
            "flow": {"method": "farneback", "grid": 8},
        },
    }
    for namespace in CLASSES
}


def write_tiny_models(
    project: Path, source: str = "synthetic", image_size: int = 32, grid: int = 8
) -> None:
    """HybridMicroNet and flow CNN per namespace, plus its ``data_source.json``.

    The defaults match ``TINY_MODEL_PARAMS``; ``image_size=48, grid=28`` match
    conf/base (for runs that cannot pass runtime parameters).
    """
    for namespace, classes in CLASSES.items():
        folder = project / "data" / "06_models" / namespace
        folder.mkdir(parents=True, exist_ok=True)
        hybrid = architectures.build_hybrid_micronet(
            image_size,
            len(classes),
            embedding_size=512,
            filters=[2, 2, 2],
            embedding_units=4,
            fusion_units=4,
            dropout=0.0,
        )
        hybrid.save(folder / "hybrid_micronet.keras")
        flow = architectures.build_flow_cnn(
            8, 2, len(classes), branch_filters=[1, 2, 3]
        )
        flow.save(folder / "flow_cnn.keras")
        reporting = project / "data" / "08_reporting" / namespace
        reporting.mkdir(parents=True, exist_ok=True)
        (reporting / "data_source.json").write_text(
            json.dumps({"dataset": namespace, "source": source})
        )

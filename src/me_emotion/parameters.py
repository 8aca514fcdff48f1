"""Schemas of every parameter block and of the globals, so a typo fails before any work.

``ProjectHooks.before_pipeline_run`` (``me_emotion.hooks``) checks the whole
parameter tree once per run with :func:`validate_parameters` and the globals
with :func:`validate_globals`; an unknown key, a missing key or a value of the
wrong type raises a :class:`ParameterError` naming the key, the expected keys
and the YAML file that defines the block.

How a block is found: a top-level key that is itself a block name
(``synthetic``) is that block; any other top-level key is a namespace
(``casme2``, ``samm``, ``composite``, ``synthetic_casme2``) whose children are
blocks (``casme2.data_ingestion``). Blocks are matched by name, so one schema
serves every namespace.

Adding a parameter block (e.g. ``video`` with conf/base/parameters_video.yml):
add ``"video": Block("conf/base/parameters_video.yml", {...})`` to ``BLOCKS``
below, describing each key with a spec:

- a type or a tuple of types (``int``, ``(int, float)``, ``(str, type(None))``;
  ``float`` accepts integers, ``int`` never accepts ``True``/``False``);
- ``Choice("a", "b")``: one of these values;
- ``AtLeast(spec, minimum)`` (``strict=True``: above it): a bounded number;
- ``ListOf(spec)`` (optionally ``length=``): a list whose items match ``spec``;
- ``MapOf(spec)``: a mapping with free keys whose values match ``spec``;
- ``ANY``: not checked here (a node checks it);
- a dict of specs: a nested block with exactly these keys;
- ``TRAINING_MODELS``: the training registry's models, each with its own schema;
- ``Block(..., rules=(...))``: checks across keys (e.g. the reporting headline's
  protocol must be a reported protocol).

A block without a schema is skipped at run time (so a pipeline merged before
its schema still runs) but fails ``tests/reliability/test_configuration.py``, which
lists every block of conf/base: adding a block without a schema fails a test,
not a user's run. A ``--params`` key that names no parameter of conf/ is
always an error (:func:`unknown_runtime_keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ANY = object()


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any):
        object.__setattr__(self, "values", values)


@dataclass(frozen=True)
class ListOf:
    """A list whose items match ``item``; exactly ``length`` items if set."""

    item: Any
    length: int | None = None


@dataclass(frozen=True)
class AtLeast:
    """A value of ``spec`` that is ``>= minimum`` (``> minimum`` if ``strict``)."""

    spec: Any
    minimum: float
    strict: bool = False


@dataclass(frozen=True)
class MapOf:
    """A mapping with free keys whose values match ``value``."""

    value: Any


@dataclass(frozen=True)
class Block:
    """A parameter block: the YAML file that defines it and its keys' specs.

    ``rules``: checks across keys that a per-key spec cannot say, each called
    as ``rule(values, section, file)`` after the keys matched; a rule raises a
    ParameterError naming the keys and the file.
    """

    file: str
    keys: dict[str, Any] = field(default_factory=dict)
    rules: tuple[Callable[[Any, str, str], None], ...] = ()


class ParameterError(ValueError):
    """A parameter block or the globals do not match their schema."""


def check_parameter_keys(
    params: dict[str, Any], expected: set[str], section: str, file: str
) -> None:
    """Raise if ``params`` lacks a key of ``expected`` or has one outside it.

    Args:
        params: the parameter block.
        expected: its keys.
        section: its name for the message, e.g. ``"casme2.face_detection"``.
        file: the YAML file that defines it, named in the message.
    """
    if not isinstance(params, Mapping):
        raise ParameterError(
            f"params:{section} must be a mapping with keys {sorted(expected)}, got "
            f"{params!r} (see {file})"
        )
    unknown = sorted(set(params) - expected)
    missing = sorted(expected - set(params))
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown key(s) {unknown}")
        if missing:
            problems.append(f"missing key(s) {missing}")
        raise ParameterError(
            f"params:{section}: {' and '.join(problems)}; expected exactly "
            f"{sorted(expected)} (see {file})"
        )


NUMBER = (int, float)
OPTIONAL_INT = (int, type(None))
PRECISION = Choice("auto", "float32", "bfloat16")
SIZE_PAIR = ListOf(int, length=2)
RANGE = ListOf(NUMBER, length=2)


class RegisteredModels:
    """``training.models``: one block per model of the training stage's registry,
    each checked against the schema its registry entry declares
    (``me_emotion/pipelines/training/registry.py``), so a new model's keys are
    declared beside its builder."""

    def spec(self) -> dict[str, Any]:
        from me_emotion.pipelines.training.registry import MODELS  # noqa: PLC0415

        return {name: model.parameters for name, model in MODELS.items()}


TRAINING_MODELS = RegisteredModels()


def headline_protocol_is_reported(
    values: Mapping[str, Any], section: str, file: str
) -> None:
    """``reporting.headline.protocol`` must be one of ``reporting.protocols``."""
    protocol = values["headline"]["protocol"]
    if protocol not in values["protocols"]:
        raise ParameterError(
            f"params:{section}.headline.protocol {protocol!r} is not one of "
            f"params:{section}.protocols {list(values['protocols'])} (see {file})"
        )


BLOCKS: dict[str, Block] = {
    "data_ingestion": Block(
        "conf/base/parameters_data_ingestion.yml",
        {
            "dataset": str,
            "coding_file": str,
            "subject_folder": str,
            "class_set": str,
            "class_sets": MapOf(MapOf(str)),
        },
    ),
    "preprocessing": Block(
        "conf/base/parameters_preprocessing.yml",
        {
            "strategy": Choice("paper", "onset_apex", "onset_apex_offset", "all"),
            "release_fps": AtLeast(float, 0, strict=True),
            "paper": {
                "target_fps": AtLeast(float, 0, strict=True),
                "frames_per_side": AtLeast(int, 0),
            },
            "workers": OPTIONAL_INT,
            "progress_every_s": NUMBER,
        },
    ),
    "face_detection": Block(
        "conf/base/parameters_face_detection.yml",
        {
            "detector": Choice("haar", "whole_frame"),
            "scale_factor": AtLeast(float, 1, strict=True),
            "min_neighbors": int,
            "min_size": SIZE_PAIR,
            "max_frames_tried": AtLeast(int, 1),
            "every_frame": {"check": bool, "min_frames": int},
            "margin": AtLeast(float, 0),
            "crop_size": int,
            "clahe": {"clip_limit": NUMBER, "tile_grid_size": SIZE_PAIR},
            "workers": OPTIONAL_INT,
            "progress_every_s": NUMBER,
            "contact_sheet": {"clips_per_class": int, "tile_px": int, "seed": int},
        },
    ),
    "feature_extraction": Block(
        "conf/base/parameters_feature_extraction.yml",
        {
            "precision": PRECISION,
            "batch_size": int,
            "execution": Choice("auto", "graph", "xla"),
            "seed": int,
            "labelled_only": bool,
            "image": {"size": int, "border_px": int},
            "augmentation": {
                "variants": int,
                "seed": int,
                "flip_probability": NUMBER,
                "max_rotation_deg": NUMBER,
                "scale_range": RANGE,
            },
            "flow": {
                "method": Choice("tvl1", "farneback"),
                "image_size": OPTIONAL_INT,
                "grid": int,
            },
            "workers": OPTIONAL_INT,
            "progress_every_s": NUMBER,
        },
    ),
    "labels": Block(  # composite.labels
        "conf/base/parameters_composite.yml", {"class_maps": MapOf(MapOf(str))}
    ),
    "training": Block(
        "conf/base/parameters_training.yml",
        {
            "classes": ListOf(str),
            "class_map": (MapOf(str), type(None)),
            "protocols": ListOf(
                Choice("paper_random_split", "loso", "composite", "cross_dataset")
            ),
            "paper_random_split": {"test_size": NUMBER},
            "seed": int,
            "n_seeds": int,
            "precision": PRECISION,
            "steps_per_execution": int,
            "image": {"size": int, "border_px": OPTIONAL_INT},
            "class_weight": (Choice("balanced"), type(None)),
            "early_stopping": {
                "enabled": bool,
                "patience": int,
                "validation_subjects": int,
                "validation_fraction": NUMBER,
            },
            "models": TRAINING_MODELS,
            "progress_every_s": NUMBER,
        },
    ),
    "reporting": Block(
        "conf/base/parameters_reporting.yml",
        {
            "dataset": str,
            "headline": {"protocol": str, "level": Choice("frame", "clip")},
            "protocols": ListOf(str),
            "hybrid_model": str,
            "enhanced_model": str,
            "baselines": ListOf(str),
            "model_names": (MapOf(str), type(None)),
            "decimals": AtLeast(int, 0),
        },
        rules=(headline_protocol_is_reported,),
    ),
    "evaluation_statistics": Block(
        "conf/base/parameters_evaluation.yml",
        {
            "level": Choice("frame", "clip"),
            "n_bootstrap": int,
            "confidence": NUMBER,
            "seed": int,
            "reference_model": str,
        },
    ),
    "synthetic": Block(
        "conf/base/parameters_synthetic.yml",
        {
            "seed": int,
            "size": str,
            "workers": OPTIONAL_INT,
            "sizes": MapOf(
                {
                    "subjects": int,
                    "clips_per_subject": int,
                    "clip_frames": SIZE_PAIR,
                    "min_clips_per_emotion": int,
                    "photo_reuse": Choice("error", "mirror"),
                }
            ),
            "photos": ListOf(str),
            "folder_padding_frames": SIZE_PAIR,
            "apex_position": RANGE,
            "motion": {
                "amplitude_px": NUMBER,
                "subject_amplitude_sd": NUMBER,
                "clip_intensity": RANGE,
                "sigma_face": NUMBER,
            },
            "look": {
                "rotation_deg": NUMBER,
                "aspect": NUMBER,
                "gamma": RANGE,
                "contrast": RANGE,
                "brightness": NUMBER,
                "tint": NUMBER,
                "center_jitter": RANGE,
            },
            "nuisance": {
                "blink_probability": NUMBER,
                "blink_px": NUMBER,
                "blink_frames": SIZE_PAIR,
                "drift_px": NUMBER,
                "illumination": NUMBER,
                "illumination_gradient": NUMBER,
                "noise_sd": NUMBER,
            },
        },
    ),
    "synthetic_videos": Block(
        "conf/base/parameters_synthetic.yml",
        {
            "size": str,
            "container": Choice("mp4", "avi"),
            "sizes": MapOf(  # each video's spec, checked by plan_videos
                {
                    "splits": {"dev": ListOf(int), "test": ListOf(int)},
                    "profiles": ListOf(Choice("standard", "realistic")),
                    "videos": ListOf(ANY),
                }
            ),
            "profiles": MapOf(ANY),  # checked by plan_videos
            "min_gap_s": NUMBER,
            "sigma_face": NUMBER,
            "blink_sigma_face": NUMBER,
            "noise_sd": NUMBER,
            "look": {
                "rotation_deg": NUMBER,
                "gamma": RANGE,
                "contrast": RANGE,
                "brightness": NUMBER,
                "tint": NUMBER,
            },
            "events": MapOf(ANY),  # per event kind, checked by plan_videos
        },
    ),
    # video.<block>: the video pipeline (conf/base/parameters_video.yml)
    "tracking": Block(
        "conf/base/parameters_video.yml",
        {
            "tracker": Choice("landmarks", "haar"),
            "haar": {
                "scale_factor": NUMBER,
                "min_neighbors": int,
                "min_face_fraction": NUMBER,
            },
            "landmarks": {"min_score": NUMBER, "min_presence": NUMBER},
            "max_side": int,
            "redetect_every_s": NUMBER,
            "min_match_score": NUMBER,
            "smoothing": NUMBER,
            "fallback_fps": NUMBER,
            "min_video_s": NUMBER,
            "progress_every_s": NUMBER,
        },
    ),
    "spotting": Block(
        "conf/base/parameters_video.yml",
        {
            "crop_px": int,
            "regions": MapOf(ListOf(NUMBER, length=4)),
            "reference_region": str,
            "settle_s": NUMBER,
            "max_head_motion": NUMBER,
            "max_expression_motion": NUMBER,
            **{
                key: {"micro": NUMBER, "macro": NUMBER}
                for key in (
                    "k_s",
                    "smooth_s",
                    "p",
                    "min_threshold",
                    "boundary_fraction",
                )
            },
            "min_peak_distance_s": NUMBER,
            "min_duration_s": NUMBER,
            "min_duration_frames": AtLeast(int, 1),
            "despike_frames": AtLeast(int, 1),
            "max_micro_duration_s": NUMBER,
            "progress_every_s": NUMBER,
        },
    ),
    "recognition": Block(
        "conf/base/parameters_video.yml",
        {
            "model": Choice("auto", "hybrid_micronet", "flow_cnn"),
            "frames_per_interval": int,
        },
    ),
    "evaluation": Block(
        "conf/base/parameters_video.yml",
        {
            "iou_threshold": NUMBER,
            "bootstrap_resamples": AtLeast(int, 0),
            "confidence": NUMBER,
            "bootstrap_seed": int,
        },
    ),
    "report": Block(
        "conf/base/parameters_video.yml", {"decimals": int, "strip_tile_px": int}
    ),
    "release": Block(  # synthetic_<layout>.release
        "conf/base/parameters_synthetic.yml",
        {
            "layout": Choice("casme2", "samm"),
            "frame_size": SIZE_PAIR,
            "color": bool,
            "face_width_px": RANGE,
            "face_center_y": NUMBER,
            "first_frame": SIZE_PAIR,
            "four_digit_frames": NUMBER,
            "emotions": MapOf(NUMBER),
            "quirks": MapOf(int),
        },
    ),
}


def _type_name(spec: Any) -> str:  # noqa: PLR0911 - one return per spec kind
    if isinstance(spec, tuple):
        return " or ".join(_type_name(s) for s in spec)
    if spec is type(None):
        return "null"
    if isinstance(spec, type):
        return {
            int: "an integer",
            float: "a number",
            str: "a string",
            bool: "true/false",
        }.get(spec, spec.__name__)
    if isinstance(spec, Choice):
        return f"one of {list(spec.values)}"
    if isinstance(spec, AtLeast):
        return f"{_type_name(spec.spec)} {'>' if spec.strict else '>='} {spec.minimum}"
    if isinstance(spec, ListOf):
        count = f"{spec.length} " if spec.length else ""
        return f"a list of {count}items, each {_type_name(spec.item)}"
    if isinstance(spec, (MapOf, dict)):
        return "a mapping"
    return "anything"


def _matches(value: Any, spec: Any) -> bool:  # noqa: PLR0911 - one return per spec kind
    """Whether ``value`` matches a scalar spec (type, tuple of specs, Choice)."""
    if spec is ANY:
        return True
    if isinstance(spec, tuple):
        return any(_matches(value, s) for s in spec)
    if isinstance(spec, Choice):
        return value in spec.values
    if isinstance(spec, AtLeast):
        return _matches(value, spec.spec) and (
            value > spec.minimum if spec.strict else value >= spec.minimum
        )
    if isinstance(spec, (ListOf, MapOf, dict)):
        try:
            _check(value, spec, "", "")
        except ParameterError:
            return False
        return True
    if spec is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, spec)


def _check(value: Any, spec: Any, where: str, file: str) -> None:
    """Raise a ParameterError naming ``where`` and ``file`` if ``value`` misses ``spec``."""
    if isinstance(spec, RegisteredModels):
        spec = spec.spec()
    if isinstance(spec, dict):
        check_parameter_keys(value, set(spec), where, file)
        for key, sub in spec.items():
            _check(value[key], sub, f"{where}.{key}", file)
    elif isinstance(spec, MapOf):
        if not isinstance(value, Mapping):
            raise ParameterError(
                f"params:{where} must be a mapping, got {value!r} (see {file})"
            )
        for key, item in value.items():
            _check(item, spec.value, f"{where}.{key}", file)
    elif isinstance(spec, ListOf):
        if not isinstance(value, (list, tuple)) or (
            spec.length is not None and len(value) != spec.length
        ):
            raise ParameterError(
                f"params:{where} must be {_type_name(spec)}, got {value!r} (see {file})"
            )
        for position, item in enumerate(value):
            _check(item, spec.item, f"{where}[{position}]", file)
    elif not _matches(value, spec):
        raise ParameterError(
            f"params:{where} must be {_type_name(spec)}, got {value!r} (see {file})"
        )


def check_block(params: Any, block: str, section: str) -> None:
    """Check one parameter block against ``BLOCKS[block]``.

    Args:
        params: the block's values.
        block: its schema name, e.g. ``"feature_extraction"``.
        section: its full name for messages, e.g. ``"casme2.feature_extraction"``.
    """
    schema = BLOCKS[block]
    _check(params, schema.keys, section, schema.file)
    for rule in schema.rules:
        rule(params, section, schema.file)


def parameter_blocks(params: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """``(section, block name, values)`` of every block in a parameter tree."""
    for top, value in params.items():
        if top in BLOCKS or not isinstance(value, Mapping):
            yield top, top, value
            continue
        for name, block in value.items():
            yield f"{top}.{name}", name, block


def validate_parameters(params: Mapping[str, Any]) -> list[str]:
    """Check every block that has a schema; return the sections that have none."""
    without_schema = []
    for section, block, values in parameter_blocks(params):
        if block in BLOCKS:
            check_block(values, block, section)
        else:
            without_schema.append(section)
    return without_schema


def _dotted(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _dotted(value, f"{path}.")
        else:
            yield path


def _has_path(tree: Any, path: str) -> bool:
    for part in path.split("."):
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


def unknown_runtime_keys(
    runtime_params: Mapping[str, Any], conf_params: Mapping[str, Any]
) -> list[str]:
    """``--params`` keys (dotted) that name no parameter of the configuration."""
    return [
        path for path in _dotted(runtime_params) if not _has_path(conf_params, path)
    ]


def validate_globals(
    globals_: Mapping[str, Any], known: set[str], base_file: str, env_file: str
) -> None:
    """Raise if the merged globals hold a key the base globals file does not declare.

    Args:
        globals_: the globals as loaded (base merged with the run environment).
        known: the keys of ``base_file``: the only ones an environment may set.
        base_file: e.g. ``conf/base/globals.yml``, where the keys are declared.
        env_file: e.g. ``conf/local/globals.yml``, where overrides live.
    """
    unknown = sorted(set(globals_) - known)
    if unknown:
        raise ParameterError(
            f"globals: unknown key(s) {unknown} in {env_file}; the known keys are "
            f"{sorted(known)} (declared in {base_file}). Fix the spelling: an "
            "unknown key would be ignored and the default used instead."
        )

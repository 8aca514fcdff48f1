"""``me-emotion-video``: spot and classify micro-expressions in videos, no Kedro needed.

A thin wrapper: it runs the project's ``video`` pipeline through a
``KedroSession`` in the ``video_cli`` environment (conf/video_cli/), passing
the paths and the output folder as runtime parameters, so the command and
``kedro run --pipelines=video`` share every node, parameter and dataset.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_OK = 0
EXIT_NOTHING_PROCESSED = 1
EXIT_USAGE = 2  # argparse's own
EXIT_MODELS_MISSING = 3
ENVIRONMENT = "video_cli"
LOGGING_CONFIG = Path(__file__).with_name("video_cli_logging.yml")


def required_datasets(catalog, setting: str) -> list[str]:  # noqa: ANN001 - Kedro's catalog
    """What the run reads from the casme2 / samm pipelines, for ``--model`` ``setting``.

    Per namespace (``core.releases.DATASETS``): its data source, LOSO metrics
    and intervals (the model choice, and the UF1 beside the labels) and the
    one model ``choose_recognition_model`` picks (auto: from those metrics);
    while the metrics are missing, every model it could pick.
    """
    from me_emotion.core.releases import DATASETS  # noqa: PLC0415
    from me_emotion.pipelines.video_analysis.nodes import (  # noqa: PLC0415
        RECOGNITION_MODELS,
        choose_recognition_model,
    )

    names = []
    for namespace in DATASETS:
        tables = [f"{namespace}.metrics", f"{namespace}.bootstrap_intervals"]
        names += [f"{namespace}.data_source", *tables]
        models = list(RECOGNITION_MODELS) if setting == "auto" else [setting]
        if all(catalog.exists(t) for t in tables):
            try:
                models = [
                    choose_recognition_model(
                        *(catalog.load(t) for t in tables), setting, namespace
                    )["model"]
                ]
            except ValueError:
                pass  # the run says why (no LOSO row); the files are what is checked here
        names += [f"{namespace}.keras_model_{model}" for model in models]
    return names


MODEL_LOADERS = "video.recognition_models"


def missing_datasets(catalog, setting: str) -> list[str]:  # noqa: ANN001 - Kedro's catalog
    """The :func:`required_datasets` that do not exist yet.

    A model is looked for through the loaders the run reads them with
    (``video.recognition_models``), which check the file without importing
    TensorFlow: the import (seconds) then happens while the first videos are
    tracked, not before the run starts.
    """
    loaders = catalog.load(MODEL_LOADERS)
    missing = []
    for name in required_datasets(catalog, setting):
        namespace, _, short = name.partition(".")
        model = short.removeprefix("keras_model_")
        if model != short and model in loaders.get(namespace, {}):
            present = loaders[namespace][model].exists()
        else:
            present = catalog.exists(name)
        if not present:
            missing.append(name)
    return missing


OUTPUTS = """\
outputs (in DIR):
  report.html            one self-contained page (opens offline): per video a
                         timeline, a strip of apex face crops and both models'
                         labels side by side; the models' agreement; rejects
  intervals.csv          one row per spotted interval: video, onset/apex/offset
                         (frames and seconds), duration, spotting score and
                         threshold, kind (micro | macro: > 0.5 s, not
                         classified), the CASME-II and SAMM models' labels,
                         3-class labels and class probabilities
  summary.csv            one row per video: status (ok | no_face | rejected)
                         and reason, duration, fps, size, seconds with a face,
                         interval counts, label counts per model
  agreement.csv          CASME-II vs SAMM model per video and ALL: intervals,
                         percent agreement and Cohen's kappa (negative /
                         positive / surprise / others, and the 3 shared
                         classes only), with counts; an undefined kappa is
                         empty and a column says why
  rejects.csv            files that could not be analysed, with the reason
                         (also printed on stderr)
  spotting_metrics.csv   precision / recall / F1 against <stem>.ground_truth.csv
                         sidecars (empty when there are none); recognition F1
                         over all true micro-expressions on the spotted
                         intervals (misses wrong) and on the true intervals
  truth_intervals.csv    the true micro intervals, labelled as spotted ones are
  timelines/<video>.json plotly timeline per video (spotting signal,
                         threshold, intervals coloured by label)
  face_tracks.parquet    per frame: face found or not (and why), face box
  spotting_signals.parquet, spotted_intervals.parquet, interval_crops.npz,
  video_index.csv, model_sources.json: intermediate data of the same run

Every table says in its models_trained_on column what the models were
trained on, which model labels (--model auto: the highest LOSO UF1 of the
dataset's metrics.csv) and its LOSO UF1 with interval and chance; models
trained on the synthetic demo data are labelled SYNTHETIC.

exit status:
  0  every readable video was processed (unreadable ones are in rejects.csv)
  1  nothing could be processed (no readable video, or the run failed)
  2  wrong arguments
  3  the trained models are missing (the message says which kedro run makes them)
"""


# Set for the command's run where the caller has not set them.
COMMAND_ENVIRONMENT = {
    "KEDRO_DISABLE_TELEMETRY": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # broken files: our reason, not ffmpeg's
    "KEDRO_LOGGING_CONFIG": str(LOGGING_CONFIG),
    # no MLflow run per analysed folder (an analysis is no experiment); MLflow
    # itself is still imported where the `tracking` extra is installed, since Kedro
    # loads every plugin's hook module before it drops the disabled ones.
    # ME_EMOTION_TRACKING=on records one as `kedro run --pipelines=video` does
    "ME_EMOTION_TRACKING": "off",
}


def find_project(explicit: str | None) -> Path:
    """The me_emotion project whose conf/ and models to use.

    ``--project``, else ``$ME_EMOTION_PROJECT``, else the current folder or a
    parent holding conf/base/catalog_video.yml, else the checkout this
    package is installed from (editable install).
    """
    candidates = []
    if explicit:
        return Path(explicit).resolve()
    if os.environ.get("ME_EMOTION_PROJECT"):
        return Path(os.environ["ME_EMOTION_PROJECT"]).resolve()
    cwd = Path.cwd().resolve()
    candidates += [cwd, *cwd.parents]
    candidates.append(Path(__file__).resolve().parents[2])
    for candidate in candidates:
        if (candidate / "conf" / "base" / "catalog_video.yml").is_file():
            return candidate
    return cwd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="me-emotion-video",
        description=textwrap.dedent(
            """\
            Spot micro-expressions in videos (training-free, face-motion based),
            classify each with the CASME-II-trained and the SAMM-trained models of
            this project, and measure how far the two models agree. Video files
            (.mp4 .avi .mov .mkv) and folders (searched recursively; a folder of
            image frames counts as one video) of any fps and size."""
        ),
        epilog=OUTPUTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="video files or folders"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (created)"
    )
    parser.add_argument(
        "--model",
        choices=("auto", "hybrid_micronet", "flow_cnn"),
        help="which model of each dataset classifies (default: parameters_video.yml, "
        "auto: the one with the highest LOSO UF1 in the dataset's metrics.csv)",
    )
    parser.add_argument(
        "--tracker",
        choices=("haar", "landmarks"),
        help="face tracker (default: parameters_video.yml)",
    )
    parser.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter as `kedro run --params` does, e.g. "
        "video.spotting.p.micro=0.3 (repeatable; VALUE is YAML)",
    )
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="the me_emotion project with conf/ and the trained models (default: "
        "$ME_EMOTION_PROJECT, the current folder or its parents, or this package's checkout)",
    )
    return parser


def say(text: str) -> None:
    """One line on stderr (the command's messages; stdout stays free)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class _ProgressPrinter(logging.Handler):
    """Prints the video pipeline's per-video progress lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        say(f"  {record.getMessage()}")


# Libraries and Kedro speak only on errors; the project's own warnings and
# Python warnings (the known third-party ones are filtered one by one in
# noise.py) reach stderr as real problems; the video pipeline's progress lines
# are printed as the command's own.
QUIETED = ("kedro", "kedro_viz", "tensorflow", "absl")
WARNINGS_SHOWN = ("py.warnings", "me_emotion")
VIDEO_LOGGER = "me_emotion.pipelines.video_analysis"


@contextmanager
def quiet_logging() -> Iterator[None]:
    """Errors from Kedro and libraries, warnings, and the video pipeline's progress lines.

    Python warnings go through logging (``py.warnings``), where noise.py drops
    the known third-party ones by message and module (MLflow's cannot be
    dropped by a warnings filter: it re-enables its own). Logger levels,
    handlers, warning filters and warning capture are restored on exit, so the
    command leaves a calling process (a test, a notebook) as it found it.
    """
    names = ["", *QUIETED, *WARNINGS_SHOWN, VIDEO_LOGGER]
    saved = {
        n: (
            logging.getLogger(n).level,
            list(logging.getLogger(n).handlers),
            logging.getLogger(n).propagate,
        )
        for n in names
    }
    # logging.captureWarnings(True) replaces showwarning with logging's own
    capturing = getattr(warnings.showwarning, "__module__", None) == "logging"
    with warnings.catch_warnings():
        try:
            logging.captureWarnings(True)
            logging.getLogger().setLevel(logging.ERROR)
            for name in QUIETED:
                logging.getLogger(name).setLevel(logging.ERROR)
            for name in WARNINGS_SHOWN:
                logging.getLogger(name).setLevel(logging.WARNING)
            video = logging.getLogger(VIDEO_LOGGER)
            video.setLevel(logging.INFO)
            video.propagate = False
            video.handlers = [_ProgressPrinter()]
            yield
        finally:
            logging.captureWarnings(capturing)
            for name, (level, handlers, propagate) in saved.items():
                logger = logging.getLogger(name)
                logger.setLevel(level)
                logger.handlers = handlers
                logger.propagate = propagate


def parse_params(pairs: list[str]) -> dict:
    """``["a.b=1", "a.c=x"]`` -> ``{"a": {"b": 1, "c": "x"}}`` (values parsed as YAML)."""
    import yaml  # noqa: PLC0415

    nested: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(
                f"me-emotion-video: --params wants KEY=VALUE, got {pair!r}"
            )
        *parents, leaf = key.strip().split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = yaml.safe_load(value)
    return nested


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (see ``--help``)."""
    args = build_parser().parse_args(argv)
    before = {key: os.environ.get(key) for key in COMMAND_ENVIRONMENT}
    for key, value in COMMAND_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    try:
        return _run(args)
    finally:  # leave a calling process's environment as it was
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run(args: argparse.Namespace) -> int:
    """The command after argument parsing (see ``main``)."""
    project = find_project(args.project)
    if not (project / "conf" / ENVIRONMENT).is_dir():
        say(
            f"me-emotion-video: {project} is not an me_emotion project (no conf/{ENVIRONMENT}/); "
            "run the command inside the project or pass --project"
        )
        return EXIT_NOTHING_PROCESSED
    inputs = [str(Path(p).resolve()) for p in args.paths]
    if not any(Path(p).exists() for p in inputs):
        for path in args.paths:
            say(f"rejected: {path}: no such file or folder")
        say("me-emotion-video: nothing to process")
        return EXIT_NOTHING_PROCESSED
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(project)
    overrides: dict = parse_params(args.params)
    if args.model:
        _merge(overrides, {"video": {"recognition": {"model": args.model}}})
    if args.tracker:
        _merge(overrides, {"video": {"tracking": {"tracker": args.tracker}}})
    runtime_params = {
        "video_inputs": inputs,  # missing ones become reject rows
        "video_out": str(out),
        **overrides,
    }
    with (
        quiet_logging(),  # first: creating the session loads Kedro's plugins
        KedroSession.create(
            project_path=project, env=ENVIRONMENT, runtime_params=runtime_params
        ) as session,
    ):
        context = session.load_context()
        catalog = context.catalog
        setting = context.params["video"]["recognition"]["model"]
        absent = missing_datasets(catalog, setting)
        if absent:
            say(
                f"me-emotion-video: the trained models are missing: {', '.join(absent)}.\n"
                f"Make them in {project} with `kedro run --pipelines=casme2` and "
                "`kedro run --pipelines=samm` (on the demo data run "
                "`kedro run --pipelines=synthetic` first)."
            )
            return EXIT_MODELS_MISSING
        say(
            f"me-emotion-video: analysing {len(runtime_params['video_inputs'])} path(s)"
        )
        try:
            session.run(pipeline_names=["video"])
        except Exception as error:  # noqa: BLE001 - one readable line, not a traceback
            say(f"me-emotion-video: the run failed: {error}")
            return EXIT_NOTHING_PROCESSED
        index = catalog.load("video.video_index")
    for row in index[index["status"] == "rejected"].itertuples(index=False):
        say(f"rejected: {row.path}: {row.reason}")
    processed = int((index["status"] != "rejected").sum())
    say(
        f"me-emotion-video: {processed} of {len(index)} video(s) processed; "
        f"report: {out / 'report.html'}"
    )
    if processed == 0:
        return EXIT_NOTHING_PROCESSED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

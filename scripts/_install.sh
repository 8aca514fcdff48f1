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
    # A .venv made before the project moved to `tensorflow` holds tensorflow-cpu,
    # which writes the same `tensorflow` package: remove it first, or the two
    # wheels' files would mix.
    if .venv/bin/python -m pip show --quiet tensorflow-cpu >/dev/null 2>&1; then
        .venv/bin/python -m pip uninstall --quiet --yes tensorflow-cpu tensorflow
    fi
    # Everything the defaults need (HED VGG-16 weights, MediaPipe models) is a
    # declared dependency: this is the same `pip install -e .` a Kedro user runs.
    .venv/bin/python -m pip install --quiet -e ".[test]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
export KEDRO_DISABLE_TELEMETRY=1  # never prompt for telemetry consent
# kedro commands typed later (README) would otherwise let kedro-telemetry write a
# project_id into pyproject.toml; .telemetry is git-ignored: edit it to opt in.
[ -f .telemetry ] || echo "consent: false" > .telemetry
export TF_CPP_MIN_LOG_LEVEL=2

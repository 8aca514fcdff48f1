#!/usr/bin/env bash
# README command 1: install everything, generate the synthetic CASME-II-layout
# demo release if it is absent, run the casme2 pipeline end to end, print where outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_install.sh

if [ ! -f "data/01_raw/synthetic/casme2/SYNTHETIC_DATA.json" ]; then
    # the CASME-II-layout release the demo runs on; the SAMM-layout release and
    # the demo videos: kedro run --pipelines=synthetic
    echo "==> generating the synthetic CASME-II-layout demo release (data/01_raw/synthetic)"
    kedro run --pipelines=synthetic_releases --namespaces=synthetic_casme2
fi
# Only what changed since the last run is recomputed (see README, "Re-runs").
echo "==> kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner"
kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner "$@"
python scripts/print_outputs.py casme2

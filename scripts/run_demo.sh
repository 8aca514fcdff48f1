#!/usr/bin/env bash
# README command 1: install everything, generate the synthetic demo releases if
# they are absent, run the casme2 pipeline end to end, print where outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_install.sh

for layout in casme2 samm; do
    if [ ! -f "data/01_raw/synthetic/$layout/SYNTHETIC_DATA.json" ]; then
        # the releases only; the demo videos: kedro run --pipelines=synthetic_videos
        echo "==> generating the synthetic demo releases (data/01_raw/synthetic)"
        kedro run --pipelines=synthetic_releases
        break
    fi
done
# Only what changed since the last run is recomputed (see README, "Re-runs").
echo "==> kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner"
kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner "$@"
python scripts/print_outputs.py casme2

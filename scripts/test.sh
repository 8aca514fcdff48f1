#!/usr/bin/env bash
# README command 2: install everything and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_install.sh
echo "==> ruff check"
ruff check src tests benchmarks
echo "==> pytest"
pytest "$@"

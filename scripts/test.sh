#!/usr/bin/env bash
# README command 2: install everything, then run the linter and the whole test suite.
#   --fast  skip the integration tests (those that start a Kedro session, run a
#           pipeline or train): the inner loop, under 2 minutes
#   --cov   measure the coverage of src/me_emotion (or ME_EMOTION_COVERAGE=1)
# Every other argument goes to pytest, e.g. `bash scripts/test.sh --fast -x tests/core`.
set -euo pipefail
cd "$(dirname "$0")/.."
pytest_args=()
coverage="${ME_EMOTION_COVERAGE:-0}"
for arg in "$@"; do
    case "$arg" in
        --fast) pytest_args+=(-m "not integration") ;;
        --cov) coverage=1 ;;
        *) pytest_args+=("$arg") ;;
    esac
done
if [ "$coverage" = 1 ]; then
    pytest_args=(--cov src/me_emotion --cov-report term-missing:skip-covered ${pytest_args[@]+"${pytest_args[@]}"})
fi
source scripts/_install.sh
echo "==> ruff check"
ruff check src tests benchmarks
echo "==> pytest ${pytest_args[*]-}"
pytest ${pytest_args[@]+"${pytest_args[@]}"}

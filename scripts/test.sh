#!/usr/bin/env bash
# Set up a development environment (learner, instructor and dev extras) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,instructor
.venv/bin/python -m nnfs_cli dev validate
.venv/bin/python -m pytest -n 2 --dist loadgroup -q -ra --durations=15 "$@"

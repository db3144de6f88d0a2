#!/usr/bin/env bash
# Create .venv and install nnfs-lab into it (editable). Usage: scripts/setup.sh [EXTRAS]
# torch==2.13.0 goes first: on these machines it is a local CPU wheel, while an open
# range installed first would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  pip_install "torch==2.13.0"
fi
pip_install -e ".${extras:+[$extras]}"
# Bytecode for nnfs's own modules, written now: with PYTHONDONTWRITEBYTECODE set (as on
# these machines) every `nnfs check` would otherwise compile them again (about 0.1 s).
.venv/bin/python -m compileall -q nnfs_cli >/dev/null  # (graders keep theirs in nnfs's cache)

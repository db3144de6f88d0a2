#!/usr/bin/env bash
# Set everything up and fetch your first exercise into ./nnfs-workspace (or $NNFS_WORKSPACE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
workspace="${NNFS_WORKSPACE:-$PWD/nnfs-workspace}"
created=$(.venv/bin/nnfs init "$workspace")
echo "${created%%$'\n'*}"  # its second line says "Next: nnfs next", which runs right now
.venv/bin/nnfs next --workspace "$workspace"
cat <<TXT

Your workspace is $workspace. From now on:
  source .venv/bin/activate && cd "$workspace"
  nnfs check <topic>     grade your file        nnfs hint <topic>   one more hint
  nnfs progress          the roadmap            nnfs next           the next exercise
TXT

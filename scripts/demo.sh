#!/usr/bin/env bash
# Set up pixclass and run the demo: MNIST 70k end to end (or scikit-learn's digits offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The torch extra: the refinement's CNN runs on the CPU (pip takes torch from its index).
EXTRAS="${EXTRAS-torch}" source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec .venv/bin/pixclass demo "$@"

#!/usr/bin/env bash
# Set up pixclass and run the demo: MNIST 70k end to end (or scikit-learn's digits offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec .venv/bin/pixclass demo "$@"

#!/usr/bin/env bash
# Create .venv (if needed) and install pixclass into it. Sourced by demo.sh and test.sh.
#   EXTRAS: pip extras to install, e.g. "dev,torch" (default: none).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "pixclass needs Python 3.11 or newer; install it (e.g. apt-get install python3) and retry." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
spec="."
if [ -n "${EXTRAS:-}" ]; then spec=".[${EXTRAS}]"; fi
echo "== installing pixclass${EXTRAS:+ with extras [$EXTRAS]} into .venv"
.venv/bin/python -m pip install --quiet -e "$spec"
# umap's numba code compiles into numba's disk cache once here, not in every first run.
echo "== compiling umap's numba code (once)"
.venv/bin/python -c "from pixclass.cluster.jit import warm; warm()"

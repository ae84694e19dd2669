# Sourced by scripts/test and scripts/demo: create or reuse .venv from the lock file.
# Installs what a fresh Debian machine lacks: uv, Chromium for the UI tests, and a C compiler
# for the data check's native fingerprint extension (compiled on first use).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install -q "uv==0.13.8"
fi
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian chromium (UI tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! command -v cc >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian gcc (native fingerprint extension)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
fi

stamp=".venv/.lock-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "== creating .venv from requirements.lock"
  [ -d .venv ] || uv venv -q -p 3.11 .venv
  uv pip sync -q -p .venv/bin/python requirements.lock
  uv pip install -q -p .venv/bin/python --no-deps -e .
  # the editable build leaves an egg-info beside the package; on sys.path it would make
  # importlib.metadata find the distribution twice (and Airflow register the plugin twice)
  rm -rf plugins/*.egg-info
  rm -f .venv/.lock-*; touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"

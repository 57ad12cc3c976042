#!/usr/bin/env bash
# dunning set-up: the two commands of the README's Quick start.
#
#   ./setup.sh          system packages, a virtual environment (.venv), the project; then `dunning demo`
#   ./setup.sh test     also the test tools (OpenSSH server, PostgreSQL, Chromium), then the whole test suite
#
# Works on a fresh Debian/Ubuntu machine with Python 3.11+; uses sudo for apt-get when not root.
# Environment: PYTHON (interpreter to use), DUNNING_TEST_DATABASE_URL (an existing PostgreSQL to test
# against instead of the local one), PYTEST_ARGS (pytest arguments: one pytest run of just those),
# PYTEST_SPLIT=0 (run tests/chaos in the same pytest process as the rest, not beside it), PYTEST_WORKERS (processes
# of the main run, default 2; 1: one), DUNNING_SHARED_DIR (the folder
# holding corpus/, by default ../shared; without it the corpus tests skip, see tests/README.md),
# DUNNING_REQUIRE_CORPUS=1 (a missing corpus fails instead of skipping; .ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-demo}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing_packages() {
  local pkg out=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || out+=("$pkg"); done
  echo "${out[@]:-}"
}

apt_install() {
  local todo
  todo=$(missing_packages "$@")
  if [ -n "$todo" ]; then
    say "installing system packages: $todo"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $todo
  fi
}

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

# WeasyPrint needs Pango; libharfbuzz-subset0 makes PDF writing about 8x faster; DejaVu/Liberation fonts.
system_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation2
                 shared-mime-info ca-certificates)
if command -v dpkg-query >/dev/null 2>&1; then
  apt_install "${system_packages[@]}"
  python=$(find_python)
  "$python" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
fi
python=$(find_python)

if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment .venv"
  "$python" -m venv .venv
fi
extras="."
[ "$mode" = test ] && extras=".[test]"
say "installing dunning ($extras) into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"

case "$mode" in
  demo)
    say "running the demo"
    .venv/bin/dunning demo
    echo
    echo "Done. Activate with: source .venv/bin/activate   ·   then: dunning --help"
    ;;
  test)
    if command -v dpkg-query >/dev/null 2>&1; then
      apt_install openssh-server openssh-client
      # The pay-page browser tests drive Debian's Chromium through Playwright (never `playwright install`).
      apt_install chromium
      if [ -z "${DUNNING_TEST_DATABASE_URL:-}" ]; then
        apt_install postgresql
      fi
    fi
    if [ -z "${DUNNING_TEST_DATABASE_URL:-}" ]; then
      DUNNING_TEST_DATABASE_URL=$(bash .ci/postgres.sh)
      export DUNNING_TEST_DATABASE_URL
    fi
    say "PostgreSQL for the tests: ${DUNNING_TEST_DATABASE_URL##*@}"
    say "ruff"
    .venv/bin/ruff check .
    say "mypy"
    .venv/bin/mypy
    say "import contracts (lint-imports: the layers of pyproject.toml [tool.importlinter])"
    .venv/bin/lint-imports
    if [ -n "${PYTEST_ARGS:-}" ] || [ "${PYTEST_SPLIT:-1}" = 0 ]; then
      say "pytest"
      # shellcheck disable=SC2086
      .venv/bin/python -m pytest ${PYTEST_ARGS:-}
    else
      # The crash tests (tests/chaos) spend their minutes waiting on real servers, kills and re-runs: they run
      # in a second pytest process beside the rest (each with its own temporary folder; every test makes its
      # own databases, ports and workspaces), which saves their length off the whole run. PYTEST_SPLIT=0: one.
      say "pytest (tests/chaos in a second process beside the rest; its report follows the main one)"
      chaos_dir=$(mktemp -d "${TMPDIR:-/tmp}/dunning-chaos-tests.XXXXXX")
      .venv/bin/python -m pytest tests/chaos -p no:cacheprovider --basetemp="$chaos_dir/tmp" \
        >"$chaos_dir/report.txt" 2>&1 &
      chaos_pid=$!
      main_rc=0
      # The rest in PYTEST_WORKERS processes (pytest-xdist, 2 by default; a module's tests stay in one process):
      # most of their time is spent waiting on real servers, subprocesses and browsers, not on the CPU.
      workers=${PYTEST_WORKERS:-2}
      if [ "$workers" -gt 1 ]; then
        .venv/bin/python -m pytest --ignore=tests/chaos -n "$workers" --dist loadfile || main_rc=$?
      else
        .venv/bin/python -m pytest --ignore=tests/chaos || main_rc=$?
      fi
      chaos_rc=0
      wait "$chaos_pid" || chaos_rc=$?
      say "pytest tests/chaos (exit code $chaos_rc)"
      cat "$chaos_dir/report.txt"
      rm -rf "$chaos_dir"
      if [ "$main_rc" != 0 ] || [ "$chaos_rc" != 0 ]; then
        echo "error: pytest failed (main run exit code $main_rc, tests/chaos exit code $chaos_rc)" >&2
        exit 1
      fi
    fi
    ;;
  *)
    echo "usage: ./setup.sh [demo|test]" >&2; exit 2 ;;
esac

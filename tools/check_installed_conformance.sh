#!/usr/bin/env bash
# The conformance suite from an installed wheel, as a backend author gets it:
# build the wheel, install it into a fresh virtual environment, and in an empty directory run
# `xpgrad-conformance --backend numpy --report out/` (must write report.html/.md/.json and exit
# 0), `python -m xpgrad.conformance` and the pytest entry point.
#
#   bash tools/check_installed_conformance.sh [REPORT_DIR]
#
# The fresh environment reuses the current environment's packages (numpy, torch, pytest, ...)
# through a .pth file, so nothing is downloaded; xpgrad itself comes only from the wheel.
# REPORT_DIR (optional) receives a copy of the report (CI hands it to the documentation build).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# REPORT_DIR as an absolute path: the runs below happen in an empty directory elsewhere
REPORT_DIR="${1:+$(mkdir -p "$1" && cd "$1" && pwd)}"
PY="${PYTHON:-python}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PY" -m pip wheel "$ROOT" -w "$WORK/wheel" --no-deps --quiet
"$PY" -m venv "$WORK/venv"
DEPS="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
SITE="$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$DEPS" > "$SITE/_deps_of_the_ci_environment.pth"
"$WORK/venv/bin/python" -m pip install --quiet --no-deps --no-index "$WORK"/wheel/xpgrad-*.whl

mkdir "$WORK/empty"
cd "$WORK/empty"
where="$("$WORK/venv/bin/python" -c 'import xpgrad; print(xpgrad.__file__)')"
case "$where" in
  "$WORK/venv/"*) ;;
  *) echo "xpgrad was imported from $where, not from the wheel" >&2; exit 1 ;;
esac

"$WORK/venv/bin/xpgrad-conformance" --backend numpy --report out/ --quiet --no-progress
for f in report.html report.md report.json; do
  test -s "out/$f" || { echo "xpgrad-conformance wrote no out/$f" >&2; exit 1; }
done
# Each outcome counted apart: checks against finite differences (torch has no derivative), none
# failed, none skipped (SciPy, from the conformance extra, is there).
"$WORK/venv/bin/python" - <<'PY'
import json
counts = json.load(open("out/report.json"))["counts"]
assert counts["fd"] > 0 and counts["fail"] == counts["xpass"] == counts["skip"] == 0, counts
print("outcomes:", counts)
PY
"$WORK/venv/bin/python" -m xpgrad.conformance --backend array_api_strict --only sin --quiet --no-progress
# Exit status 2 for a usage error.
set +e
"$WORK/venv/bin/xpgrad-conformance" --backend no_such_library --quiet > /dev/null 2>&1
status=$?
set -e
test "$status" -eq 2 || { echo "expected exit status 2 for an unknown backend, got $status" >&2; exit 1; }
# The pytest entry point (plugin registered by the wheel).
"$WORK/venv/bin/python" -m pytest --pyargs xpgrad.conformance --xpgrad-backend numpy -q -p no:cacheprovider \
  -k "sin-float64 or matmul-float64"

if [ -n "$REPORT_DIR" ]; then
  cp out/report.html out/report.md out/report.json out/summary.md "$REPORT_DIR"/
fi
echo "installed conformance: OK"

#!/usr/bin/env bash
# Set up schedlab in ./.venv (Python 3.11) and run the main job or the test suite.
#   bash scripts/bootstrap.sh run    # install, then compare policies on the bundled theta_2022 trace
#   bash scripts/bootstrap.sh test   # install with test extras, then run the test suite
# Works on a fresh Debian machine with only Python 3.11: if the venv module cannot install pip
# (Debian without python3-venv), pip is fetched from PyPI into the venv instead.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-run}"

PY=""
for cand in python3.11 python3 python; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    PY="$cand"; break
  fi
done
[ -n "$PY" ] || { echo "error: Python 3.11 is required (python3.11 not found)" >&2; exit 1; }

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
  if ! "$PY" -m venv .venv >/dev/null 2>&1; then
    echo "venv without ensurepip: installing pip from PyPI" >&2
    rm -rf .venv
    "$PY" -m venv --without-pip .venv
    .venv/bin/python - <<'PYEOF'
import json, pathlib, subprocess, sys, tempfile, urllib.parse, urllib.request
resp = urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60)
info = json.load(resp)
url = urllib.parse.urljoin(resp.geturl(), next(f["url"] for f in info["urls"] if f["filename"].endswith(".whl")))
whl = pathlib.Path(tempfile.mkdtemp()) / url.rsplit("/", 1)[1]
whl.write_bytes(urllib.request.urlopen(url, timeout=120).read())
subprocess.check_call([sys.executable, str(whl / "pip"), "install", "-q", "--no-index", str(whl)])
PYEOF
  fi
fi

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian packages the tests use (a loopback Slurm, a headless browser): listed one per line in
# scripts/apt-packages.txt.  Installed when missing and when this runs as root with apt-get
# (CI does); otherwise the tests that need them say what is missing and skip.
install_system_packages() {
  local missing=()
  while read -r pkg; do
    case "$pkg" in ''|'#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < scripts/apt-packages.txt
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: Debian packages missing (${missing[*]}); tests that need them will skip" >&2
  fi
}
case "$what" in
  run)
    .venv/bin/python -m pip install -q -e . 
    .venv/bin/schedlab compare --trace theta_2022 --policies fcfs,sjf,wfp3,f1 --backfill none,easy,conservative --out out/theta_2022
    ;;
  test)
    install_system_packages
    .venv/bin/python -m pip install -q -e '.[test]'
    .venv/bin/ruff check . && .venv/bin/ruff format --check .
    .venv/bin/python -m pytest -q -n 2 tests
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh run|test" >&2; exit 2 ;;
esac

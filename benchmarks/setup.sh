#!/usr/bin/env bash
# Install what benchmarks/run.py compares against; safe to run again.
#   - Debian's zstd, curl, openssl (and locales, for mano 0.6.0's en_US.UTF-8) via apt-get
#     when run as root; otherwise prints the command to run with sudo.
#   - mano 0.6.0 from PyPI into benchmarks/.venv-mano06 (its own venv: its package `mano`
#     must never meet ours), and an en_US.UTF-8 locale compiled into benchmarks/.locale with
#     localedef when the system has none (no root needed).
# run.py does the second part by itself when the venv is missing (unless --no-install).
set -euo pipefail
cd "$(dirname "$0")"

tools=(zstd curl openssl localedef)
missing=()
for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zstd curl openssl locales
  else
    echo "missing: ${missing[*]} -- run: sudo apt-get install -y zstd curl openssl locales" >&2
  fi
fi

python3 - <<'PY'
import sys
sys.path.insert(0, ".")
from benchlib import refs
from benchlib.measure import NotMeasured
try:
    m = refs.mano06(install=True)
except NotMeasured as exc:
    sys.exit(f"mano 0.6.0 reference: {exc}")
print(f"mano {m.version} ready in {refs.VENV} (LOCPATH={m.env.get('LOCPATH', 'system')})")
PY

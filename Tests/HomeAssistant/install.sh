#!/usr/bin/env bash
# Install Home Assistant Core into $HASS_VENV (default $HASS_HOME/venv; HASS_HOME
# defaults to $PWD/var/hass). The wheel, HA's constraints and install.log go to
# $HASS_HOME/cache. Takes 1-2 minutes and needs PyPI.
#
#   install.sh            create the venv, or top up an existing one
#   install.sh --fresh    delete the venv first
# Copied from the team's HA kit (../shared/ha/) so that CI, which clones only this repository,
# has it; changed here: how Python 3.13 is found.
# Env: HASS_VERSION (default 2025.4.4), HASS_PYTHON (default pyenv's 3.13.0),
#      HASS_INSTALLER=uv (uv instead of pip; not faster with byte-compiling)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# A pyenv shim for python3.13 is on PATH even when pyenv's global version is another one (it then
# fails when run): take the first candidate that really is a Python 3.13.
pick_python() {
  local c
  for c in "${HASS_PYTHON:-}" python3.13 "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.13*/bin/python3.13; do
    [[ -n "$c" ]] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { echo "$c"; return 0; }
  done
  return 1
}
PY="$(pick_python)" || { echo "no Python 3.13 found (python3.13 on PATH, pyenv's versions/3.13*; or set HASS_PYTHON)" >&2; exit 1; }
HASS_VERSION="${HASS_VERSION:-2025.4.4}"
CACHE="$HASS_HOME/cache"
mkdir -p "$CACHE"
LOG="$CACHE/install.log"
: >"$LOG"

if [[ "${1:-}" == "--fresh" ]]; then rm -rf "$HASS_VENV"; fi

if ! command -v mosquitto >/dev/null || ! command -v mosquitto_sub >/dev/null; then
  echo "installing mosquitto and mosquitto-clients"
  timeout 300 apt-get update -q >>"$LOG" 2>&1
  timeout 600 apt-get install -y -q --no-install-recommends mosquitto mosquitto-clients >>"$LOG" 2>&1
fi

t0=$(date +%s)
[[ -x "$HASS_VENV/bin/python" ]] || "$PY" -m venv "$HASS_VENV"
timeout 300 "$HASS_VENV/bin/python" -m pip install -q --upgrade pip wheel >>"$LOG" 2>&1

# HA pins its direct dependencies but not theirs: without its own
# package_constraints.txt (inside the wheel) pip floats transitive deps to
# today's releases. Fetch the wheel alone and read that file first.
WDIR="$CACHE/wheel"; mkdir -p "$WDIR"
timeout 600 "$HASS_VENV/bin/pip" download -q --no-deps -d "$WDIR" "homeassistant==$HASS_VERSION" >>"$LOG" 2>&1
WHL="$(ls "$WDIR"/homeassistant-"$HASS_VERSION"-*.whl | head -1)"
CONSTRAINTS="$CACHE/constraints.txt"
"$HASS_VENV/bin/python" - "$WHL" "$CONSTRAINTS" <<'PYEOF'
import sys, zipfile
whl, out = sys.argv[1:3]
with zipfile.ZipFile(whl) as z:
    text = z.read("homeassistant/package_constraints.txt").decode()
# not pinned by HA 2025.4 but later broke API: pycares 4.9+/5.x vs aiodns 3.2.0
text += "\n# added by install.sh\npycares<4.9\n"
open(out, "w").write(text)
PYEOF

if [[ "${HASS_INSTALLER:-pip}" == uv ]]; then
  UV_PIN="$(grep -E '^uv==' "$CONSTRAINTS" | head -1)"
  timeout 300 "$HASS_VENV/bin/pip" install -q "${UV_PIN:-uv}" >>"$LOG" 2>&1
  inst() { timeout 1500 "$HASS_VENV/bin/uv" pip install -p "$HASS_VENV/bin/python" \
             --compile-bytecode -c "$CONSTRAINTS" "$@"; }
else
  inst() { timeout 1500 "$HASS_VENV/bin/pip" install -c "$CONSTRAINTS" "$@"; }
fi

# 1) Home Assistant core
inst "$WHL" >>"$LOG" 2>&1 || { tail -30 "$LOG"; exit 1; }
t1=$(date +%s)

# 2) requirements of the integrations HA will load (frontend, mqtt, ...), so it
#    has nothing to install at startup and start.sh can pass --skip-pip
REQS="$("$HASS_VENV/bin/python" "$KIT/hass_reqs.py" 2>/dev/null)"
echo "integration requirements: $REQS" >>"$LOG"
# shellcheck disable=SC2086
inst $REQS >>"$LOG" 2>&1 || { tail -30 "$LOG"; exit 1; }
t2=$(date +%s)

"$HASS_VENV/bin/pip" check >>"$LOG" 2>&1 || echo "WARN: pip check reported conflicts (see $LOG)"
echo "homeassistant $("$HASS_VENV/bin/hass" --version) in $HASS_VENV"
echo "install (${HASS_INSTALLER:-pip}): core $((t1-t0))s, integration reqs $((t2-t1))s, total $((t2-t0))s" | tee -a "$LOG"

# Copied unchanged from the team's HA kit (../shared/ha/): CI clones only this repository.
# Sourced by the kit's scripts: where state lives, and small helpers.
# Nothing is ever written beside these scripts; everything goes under HASS_HOME.
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HASS_HOME="$(realpath -m "${HASS_HOME:-$PWD/var/hass}")"
HASS_VENV="$(realpath -m "${HASS_VENV:-$HASS_HOME/venv}")"
case "$HASS_HOME$HASS_VENV" in
  *[[:space:]]*) echo "HASS_HOME and HASS_VENV must not contain whitespace" >&2; exit 2 ;;
esac
RUN="$HASS_HOME/run"
CONF="$HASS_HOME/config"
ENV_FILE="$RUN/hass.env"
export PYTHONDONTWRITEBYTECODE=1

# running and not a zombie (a stopped process lingers as Z until its parent reaps it,
# and kill -0 still succeeds on it)
alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null &&
    [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# value of KEY in hass.env (empty if absent)
env_get() { [[ -f "$ENV_FILE" ]] && sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

# set KEY=VALUE in hass.env (replace or append)
env_set() {
  local tmp="$ENV_FILE.tmp"
  { [[ -f "$ENV_FILE" ]] && grep -v "^$1=" "$ENV_FILE"; echo "$1=$2"; } >"$tmp" || true
  mv "$tmp" "$ENV_FILE"
}

# SIGTERM pid if its command line still contains the expected text, then wait
# (SIGKILL after grace seconds). Never touches a PID that is no longer ours.
stop_pid() {  # pid  expected-cmdline-substring  grace-seconds  label
  local pid=$1 want=$2 grace=$3 label=$4
  [[ -n "$pid" ]] || return 0
  if ! alive "$pid"; then echo "$label (pid $pid) not running"; return 0; fi
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$want"; then
    echo "pid $pid is no longer $label; not touching it"; return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 $((grace * 5))); do
    alive "$pid" || { echo "stopped $label (pid $pid)"; return 0; }
    sleep 0.2
  done
  echo "$label (pid $pid) ignored SIGTERM for ${grace}s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

free_port() {
  "$HASS_VENV/bin/python" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# launch hass on $CONF in the background; sets HASS_PID
launch_hass() {
  local skip=(--skip-pip)
  [[ "${HASS_ALLOW_PIP:-0}" == 1 ]] && skip=()
  # exec in a subshell so $! is the hass process itself
  ( exec "$HASS_VENV/bin/hass" -c "$CONF" "${skip[@]}" --log-no-color >>"$RUN/hass.out" 2>&1 ) &
  HASS_PID=$!
}

# seconds since a `date +%s.%N` timestamp, one decimal
elapsed() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

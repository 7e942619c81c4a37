#!/usr/bin/env bash
# Copied unchanged from the team's HA kit (../shared/ha/): CI clones only this repository.
# Start a fresh Home Assistant on 127.0.0.1 with the MQTT integration added, and
# (unless MQTT_PORT is set) a private mosquitto for it. Writes $HASS_HOME/run/hass.env:
#   HASS_URL HASS_TOKEN HASS_PID HASS_PORT MQTT_PORT MOSQ_PID (own broker only)
#   HASS_USER HASS_PASSWORD MQTT_ENTRY_ID HASS_VENV HASS_CONFIG T_* (timings)
# Env: HASS_HOME (default $PWD/var/hass)   HASS_VENV (default $HASS_HOME/venv)
#      MQTT_PORT  use the broker already listening on 127.0.0.1:$MQTT_PORT
#      MQTT_USERNAME / MQTT_PASSWORD  credentials for that broker (optional)
#      HASS_PORT  HTTP port (default: a free one)
#      HASS_ALLOW_PIP=1  let HA install missing requirements itself (default --skip-pip)
# The config dir $HASS_HOME/config is wiped first: every start is a new HA.
# On failure it stops whatever it started and exits non-zero.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ -x "$HASS_VENV/bin/hass" ]] || { echo "no Home Assistant in $HASS_VENV: run $KIT/install.sh first" >&2; exit 1; }

for p in $(env_get HASS_PID) $(env_get MOSQ_PID); do
  if alive "$p"; then echo "already running (pid $p in $ENV_FILE); run $KIT/stop.sh first" >&2; exit 1; fi
done

rm -rf "$RUN" "$CONF"; mkdir -p "$RUN" "$CONF"
OWN_BROKER=0
if [[ -z "${MQTT_PORT:-}" ]]; then OWN_BROKER=1; MQTT_PORT=$(free_port); fi
HASS_PORT="${HASS_PORT:-$(free_port)}"
while [[ "$HASS_PORT" == "$MQTT_PORT" ]]; do HASS_PORT=$(free_port); done
{ echo "HASS_VENV=$HASS_VENV"; echo "HASS_CONFIG=$CONF"; echo "HASS_PORT=$HASS_PORT";
  echo "MQTT_PORT=$MQTT_PORT"; } >"$ENV_FILE"
if [[ -n "${MQTT_USERNAME:-}" ]]; then
  env_set MQTT_USERNAME "$MQTT_USERNAME"; env_set MQTT_PASSWORD "${MQTT_PASSWORD:-}"
fi

OK=0
cleanup() {
  if [[ $OK != 1 ]]; then
    echo "start.sh failed; stopping what it started" >&2
    [[ -f "$RUN/hass.out" ]] && tail -n 40 "$RUN/hass.out" >&2
    "$KIT/stop.sh" >&2 || true
  fi
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ $OWN_BROKER == 1 ]]; then
  cat >"$RUN/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
# no switch to the mosquitto user when started as root: it writes its log here
user root
log_dest file $RUN/mosquitto.log
connection_messages true
CONF
  mosquitto -c "$RUN/mosquitto.conf" >"$RUN/mosquitto.out" 2>&1 &
  MOSQ_PID=$!
  env_set MOSQ_PID "$MOSQ_PID"
  for _ in $(seq 1 50); do
    port_open "$MQTT_PORT" && break
    alive "$MOSQ_PID" || { cat "$RUN/mosquitto.out" "$RUN/mosquitto.log" >&2; exit 1; }
    sleep 0.2
  done
  port_open "$MQTT_PORT" || { echo "mosquitto not listening on $MQTT_PORT" >&2; exit 1; }
  echo "mosquitto pid $MOSQ_PID on 127.0.0.1:$MQTT_PORT"
else
  port_open "$MQTT_PORT" || { echo "no broker listening on 127.0.0.1:$MQTT_PORT" >&2; exit 1; }
  echo "using the broker on 127.0.0.1:$MQTT_PORT"
fi

# Minimal configuration: no default_config. HA still sets up its default
# integrations (frontend, backup, person, automation, ...), all fine offline.
cat >"$CONF/configuration.yaml" <<CONF
homeassistant:
  name: sensorgate-test
  latitude: 52.52
  longitude: 13.40
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: DE
http:
  server_host: 127.0.0.1
  server_port: $HASS_PORT
api:
logger:
  default: info
CONF

T0=$(date +%s.%N)
launch_hass
env_set HASS_PID "$HASS_PID"
echo "hass pid $HASS_PID on http://127.0.0.1:$HASS_PORT (log: $RUN/hass.out)"
HASS_T0=$T0 timeout 600 "$HASS_VENV/bin/python" "$KIT/hass_setup.py" setup \
  "$HASS_PORT" "$MQTT_PORT" "$ENV_FILE" "$HASS_PID"
OK=1
echo "ready in $(elapsed "$T0")s: $ENV_FILE"

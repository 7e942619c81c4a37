#!/usr/bin/env bash
# Copied unchanged from the team's HA kit (../shared/ha/): CI clones only this repository.
# Restart only Home Assistant (the broker keeps running), on the same config
# dir and port: entity registry, MQTT integration and HASS_TOKEN carry over.
# Returns once HA is RUNNING and has sent its MQTT birth message, i.e. it has
# re-subscribed and re-read retained discovery configs. Updates HASS_PID (and
# HASS_TOKEN if it had to make a new one) in $HASS_HOME/run/hass.env.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[[ -f "$ENV_FILE" ]] || { echo "no $ENV_FILE: run $KIT/start.sh first" >&2; exit 1; }
HASS_VENV="$(env_get HASS_VENV)"
HASS_PORT="$(env_get HASS_PORT)"; MQTT_PORT="$(env_get MQTT_PORT)"
MQTT_USERNAME="$(env_get MQTT_USERNAME)"; MQTT_PASSWORD="$(env_get MQTT_PASSWORD)"
export MQTT_USERNAME MQTT_PASSWORD

T_STOP=$(date +%s.%N)
stop_pid "$(env_get HASS_PID)" "-c $CONF " 60 hass
env_set T_RESTART_STOP_S "$(elapsed "$T_STOP")"
for _ in $(seq 1 50); do   # the old server must have let go of the port
  (exec 3<>"/dev/tcp/127.0.0.1/$HASS_PORT") 2>/dev/null || break
  sleep 0.2
done

OK=0; HASS_PID=""
cleanup() {
  if [[ $OK != 1 ]]; then
    echo "restart.sh failed; stopping hass" >&2
    tail -n 40 "$RUN/hass.out" >&2
    stop_pid "$HASS_PID" "-c $CONF " 60 hass >&2 || true
  fi
}
trap cleanup EXIT
echo "----- restart $(date -u +%FT%TZ)" >>"$RUN/hass.out"
T0=$(date +%s.%N)
launch_hass
env_set HASS_PID "$HASS_PID"
echo "hass pid $HASS_PID on http://127.0.0.1:$HASS_PORT"
HASS_T0=$T0 timeout 600 "$HASS_VENV/bin/python" "$KIT/hass_setup.py" restart \
  "$HASS_PORT" "$MQTT_PORT" "$ENV_FILE" "$HASS_PID"
OK=1
echo "ready in $(elapsed "$T0")s: $ENV_FILE"

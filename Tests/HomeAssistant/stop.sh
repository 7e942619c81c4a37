#!/usr/bin/env bash
# Copied unchanged from the team's HA kit (../shared/ha/): CI clones only this repository.
# Stop the hass (and the mosquitto, if start.sh started one) recorded in
# $HASS_HOME/run/hass.env: SIGTERM by PID, SIGKILL after a grace period, and
# only after checking that each PID's command line is still ours.
# Leaves $HASS_HOME in place (logs in run/, HA's config in config/).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[[ -f "$ENV_FILE" ]] || { echo "nothing to stop ($ENV_FILE missing)"; exit 0; }
stop_pid "$(env_get HASS_PID)" "-c $CONF " 60 hass
stop_pid "$(env_get MOSQ_PID)" "$RUN/mosquitto.conf" 10 mosquitto

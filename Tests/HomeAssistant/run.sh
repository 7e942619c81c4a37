#!/usr/bin/env bash
# `make test-ha`: Home Assistant Core in $HASS_HOME/venv (default var/hass; installed from PyPI
# the first time and kept), then test_ha.py with the venv's python against the given binary.
#   run.sh .build/debug/sensorgate [--screenshot docs/home-assistant]
set -euo pipefail
cd "$(dirname "$0")/../.."
export HASS_HOME="${HASS_HOME:-$PWD/var/hass}"
HASS_VERSION="${HASS_VERSION:-2025.4.4}"
if [[ "$("$HASS_HOME/venv/bin/hass" --version 2>/dev/null)" != "$HASS_VERSION" ]]; then
  echo "installing Home Assistant $HASS_VERSION into $HASS_HOME/venv (once; about 1-6 minutes, needs PyPI)"
  HASS_VERSION="$HASS_VERSION" Tests/HomeAssistant/install.sh
fi
exec "$HASS_HOME/venv/bin/python" Tests/HomeAssistant/test_ha.py "$@"

# Copied unchanged from the team's HA kit (../shared/ha/): CI clones only this repository.
"""Print the PyPI requirements HA would install at runtime for this recipe.

Run with the venv's python. Walks the built-in integration manifests the way
homeassistant/requirements.py does (dependencies + after_dependencies +
discovery integrations), starting from what bootstrap always sets up
(CORE + DEFAULT_INTEGRATIONS) plus what our configuration.yaml / config
entries add (http, api, mqtt and the entity platforms MQTT may forward to).
Output: one space-separated line of requirement specifiers.
"""

import json
import os
import sys

import homeassistant.components as comps
from homeassistant.bootstrap import CORE_INTEGRATIONS, DEFAULT_INTEGRATIONS
from homeassistant.requirements import DISCOVERY_INTEGRATIONS

COMP_DIR = os.path.dirname(comps.__file__)

try:
    from homeassistant.components.mqtt.const import ENTITY_PLATFORMS
    MQTT_PLATFORMS = {str(p) for p in ENTITY_PLATFORMS}
except Exception:  # pragma: no cover - older/newer layouts
    MQTT_PLATFORMS = {"sensor", "binary_sensor", "climate"}

start = set(CORE_INTEGRATIONS) | set(DEFAULT_INTEGRATIONS) | {"http", "api", "mqtt"}
start |= MQTT_PLATFORMS
start |= set(sys.argv[1:])  # extra domains on the command line


def manifest(domain):
    path = os.path.join(COMP_DIR, domain, "manifest.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


seen, reqs, todo = set(), set(), list(start)
while todo:
    d = todo.pop()
    if d in seen:
        continue
    seen.add(d)
    m = manifest(d)
    if m is None:
        continue
    reqs.update(m.get("requirements", []))
    nxt = list(m.get("dependencies", [])) + list(m.get("after_dependencies", []))
    for check_domain, keys in DISCOVERY_INTEGRATIONS.items():
        if any(k in m for k in keys):
            nxt.append(check_domain)
    todo.extend(n for n in nxt if n not in seen)

print(" ".join(sorted(reqs)))
print(f"# {len(seen)} integrations walked", file=sys.stderr)

"""`make test-ha`: sensorgate against a real Home Assistant.

Run with the HA venv's python (it has aiohttp, for HA's websocket API):

    var/hass/venv/bin/python Tests/HomeAssistant/test_ha.py [path/to/sensorgate] [--screenshot PREFIX]

Starts Home Assistant Core on loopback with its MQTT integration and a private mosquitto (the
kit's start.sh), then a gateway with a BME280-shaped sysfs fixture, a PIR and a door contact on
GPIO lines (recordings of gpio_v2_line_event records written into FIFOs, as this machine has no
GPIO) and a thermostat, and checks through HA's REST and websocket APIs:

  1. every entity exists (found by its unique_id in HA's entity registry) with the right state,
     unit and device class; sensor devices hang off the gateway's device (via_device);
  2. motion turns on and off again after off_delay; the contact opens and closes;
  3. climate.set_temperature and set_hvac_mode reach the thermostat, which answers with a
     ThermostatCommand "set from Home Assistant" and its state topics, so HA shows the new target;
  4. availability follows the gateway: its clean stop (and, at the end, a kill -9 through the
     broker's last will) makes the entities unavailable, its restart brings them back with the
     target and mode HA set (persisted);
  5. after Home Assistant restarts, the entities come back with live states (retained configs
     and states), not merely restored from HA's registry.

Everything HA writes goes under $HASS_HOME (default var/hass); the gateway's files under a
temporary directory. HA and the broker are stopped in any case (stop.sh), the gateway by PID.
"""

import asyncio
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import aiohttp

KIT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(KIT))
HASS_HOME = os.path.abspath(os.environ.get("HASS_HOME", os.path.join(ROOT, "var", "hass")))
ENV_FILE = os.path.join(HASS_HOME, "run", "hass.env")
GW = "ha-test"
NODE = f"sensorgate_{GW}"
T0 = time.monotonic()


def log(msg):
    print(f"[test-ha +{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


def kit(script, check=True):
    env = dict(os.environ, HASS_HOME=HASS_HOME)
    subprocess.run([os.path.join(KIT, script)], env=env, check=check, timeout=700)


def read_env():
    env = {}
    with open(ENV_FILE) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


class HA:
    def __init__(self):
        self.reload()

    def reload(self):
        env = read_env()
        self.url, self.token, self.mqtt_port = env["HASS_URL"], env["HASS_TOKEN"], int(env["MQTT_PORT"])
        self.user, self.password = env.get("HASS_USER"), env.get("HASS_PASSWORD")
        assert self.url.startswith("http://127.0.0.1:"), self.url

    def api(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=15) as r:
            return json.loads(r.read() or b"null")

    def state(self, entity_id):
        try:
            return self.api("GET", f"/api/states/{entity_id}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def ws(self, *commands):
        """Sends websocket commands (each a dict without id); returns their results."""
        async def run():
            async with aiohttp.ClientSession() as s:
                async with s.ws_connect(self.url.replace("http://", "ws://") + "/api/websocket") as ws:
                    assert (await ws.receive_json())["type"] == "auth_required"
                    await ws.send_json({"type": "auth", "access_token": self.token})
                    assert (await ws.receive_json())["type"] == "auth_ok"
                    results = []
                    for i, cmd in enumerate(commands, start=1):
                        await ws.send_json(dict(cmd, id=i))
                        while True:
                            msg = await asyncio.wait_for(ws.receive_json(), 30)
                            if msg.get("id") == i and msg.get("type") == "result":
                                break
                        if not msg.get("success"):
                            raise AssertionError(f"websocket {cmd['type']} failed: {msg}")
                        results.append(msg["result"])
                    return results
        return asyncio.run(run())

    def entities(self):
        """unique_id -> entity_id for sensorgate's MQTT entities."""
        reg = self.ws({"type": "config/entity_registry/list"})[0]
        return {e["unique_id"]: e["entity_id"] for e in reg if e.get("platform") == "mqtt" and e["unique_id"].startswith(NODE)}


def wait(desc, pred, timeout=30, interval=0.25, show=None):
    """Polls `pred` until it returns something truthy; on timeout, `show()` says what was seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
        except (urllib.error.URLError, ConnectionError, OSError, KeyError, TypeError) as err:
            last = err
        if last and not isinstance(last, Exception):
            log(f"ok: {desc}")
            return last
        time.sleep(interval)
    seen = show() if show else last
    raise AssertionError(f"timeout after {timeout}s: {desc} (last seen: {seen!r})")


# A gpio_v2_line_event record (48 bytes): u64 timestamp_ns, u32 id (1 rising, 2 falling),
# u32 offset, u32 seqno, u32 line_seqno, u32 padding[6].
class Line:
    def __init__(self, path, offset):
        self.path, self.offset, self.seq, self.fd = path, offset, 0, None
        os.mkfifo(path)

    def open(self, timeout=20):
        # The gateway opens the read end on its device thread; until then O_NONBLOCK says ENXIO.
        deadline = time.monotonic() + timeout
        while self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the gateway never opened {self.path}")
                time.sleep(0.05)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def edge(self, rising):
        self.seq += 1
        os.write(self.fd, struct.pack("<QIIII24x", time.time_ns(), 1 if rising else 2, self.offset, self.seq, self.seq))


class Gateway:
    def __init__(self, binary, config, logfile):
        self.binary, self.config, self.logfile = binary, config, logfile
        self.proc = None

    def start(self):
        out = open(self.logfile, "a")
        # At debug: the test reads the ThermostatCommand's event line, which a daemon logs only there.
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config, "--log-level", "debug"],
                                     stdout=out, stderr=subprocess.STDOUT)
        log(f"gateway pid {self.proc.pid}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def output(self):
        with open(self.logfile) as f:
            return f.read()


def main():
    args = sys.argv[1:]
    screenshot = None
    if "--screenshot" in args:
        i = args.index("--screenshot")
        screenshot = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    binary = os.path.abspath(args[0] if args else os.path.join(ROOT, ".build", "debug", "sensorgate"))
    assert os.access(binary, os.X_OK), f"no sensorgate binary at {binary} (swift build first)"
    work = tempfile.mkdtemp(prefix="sensorgate-test-ha-")
    gateway = None
    try:
        kit("start.sh")
        ha = HA()
        log(f"Home Assistant {ha.api('GET', '/api/config')['version']} at {ha.url}, mosquitto on {ha.mqtt_port}")

        iio = os.path.join(work, "iio:device0")
        shutil.copytree(os.path.join(ROOT, "Tests/SensorgateAdaptersTests/Fixtures/sys/bus/iio/devices/iio:device0"), iio)
        pir, door = Line(os.path.join(work, "pir.fifo"), 17), Line(os.path.join(work, "door.fifo"), 5)
        config = os.path.join(work, "gateway.yaml")
        with open(config, "w") as f:
            f.write(f"""
gateway: {{ id: {GW}, state_dir: {work}/state, profiles_dir: {ROOT}/Devices }}
mqtt: {{ url: "mqtt://127.0.0.1:{ha.mqtt_port}" }}
homeassistant: {{ motion_off_delay: 5s }}
devices:
  - {{ id: bme, profile: bme280, path: "{iio}", interval: 1s, location: Living room }}
  - {{ id: pir, profile: hc-sr501, chip: "{pir.path}", line: 17, location: Hall }}
  - {{ id: door, profile: reed-switch, chip: "{door.path}", line: 5, location: Hall }}
rules:
  - name: damp
    when: {{ humidity: {{ device: bme, above: 40 }} }}
    then: [ {{ alert: {{ severity: info, message: "{{device}} at {{humidity}} %RH" }} }} ]
thermostats:
  - {{ name: living, device: bme, target: 20, min_on: 0s, min_off: 0s, actuator: {{ mqtt: {{ topic: test/relay/set }} }} }}
""")
        gateway = Gateway(binary, config, os.path.join(work, "gateway.log"))
        gateway.start()
        pir.open()
        door.open()

        # 1. Every entity, by unique_id, with its state, unit and class.
        expected = {
            f"{NODE}_status": ("binary_sensor", "on", {"device_class": "connectivity"}),
            f"{NODE}_bme_temperature": ("sensor", "21.34", {"unit_of_measurement": "°C", "device_class": "temperature",
                                                             "state_class": "measurement"}),
            f"{NODE}_bme_humidity": ("sensor", "45.21", {"unit_of_measurement": "%", "device_class": "humidity"}),
            f"{NODE}_bme_pressure": ("sensor", "1009.136", {"unit_of_measurement": "hPa", "device_class": "atmospheric_pressure"}),
            f"{NODE}_pir_motion": ("binary_sensor", None, {"device_class": "motion"}),
            f"{NODE}_door_contact": ("binary_sensor", None, {"device_class": "opening"}),
            # HA shows a climate's temperatures at its precision (0.1): 21.34 is 21.3.
            f"{NODE}_thermostat_living": ("climate", "heat", {"current_temperature": 21.3, "temperature": 20, "hvac_action": "idle"}),
            f"{NODE}_alert_damp": ("binary_sensor", "on", {"device_class": "problem"}),
            f"{NODE}_thermostat_living_stale": ("binary_sensor", "off", {"device_class": "problem"}),
        }
        ids = wait("every entity is in HA's registry", lambda: (lambda e: e if set(expected) <= set(e) else None)(ha.entities()))
        E = {u: ids[u] for u in expected}

        def matches(unique):
            domain, want, attrs = expected[unique]
            s = ha.state(E[unique])
            if not s or not E[unique].startswith(domain + "."):
                return False
            if want is not None and s["state"] != want:
                return False
            return all(s["attributes"].get(k) == v for k, v in attrs.items())
        for unique in expected:
            wait(f"{E[unique]} = {expected[unique][1] or 'any'} {expected[unique][2]}", lambda u=unique: matches(u),
                 show=lambda u=unique: ha.state(E[u]))

        devices = ha.ws({"type": "config/device_registry/list"})[0]
        by_ident = {tuple(i) : d for d in devices for i in d["identifiers"]}
        hub = by_ident[("mqtt", NODE)]
        bme = by_ident[("mqtt", f"{NODE}_bme")]
        assert bme["via_device_id"] == hub["id"], (bme, hub["id"])
        assert hub["name"] == f"sensorgate {GW}", hub
        assert bme["model"] == "bme280", bme
        log(f"ok: device '{bme['name']}' (bme280) via '{hub['name']}'")

        # Live values reach HA: the fixture's temperature changes.
        with open(os.path.join(iio, "in_temp_input"), "w") as f:
            f.write("22500\n")
        wait("a new temperature shows", lambda: ha.state(E[f"{NODE}_bme_temperature"])["state"] == "22.5")

        # 2. Motion and off_delay; the contact.
        pir.edge(True)
        wait("motion on", lambda: ha.state(E[f"{NODE}_pir_motion"])["state"] == "on")
        t = time.monotonic()
        wait("motion off after off_delay", lambda: ha.state(E[f"{NODE}_pir_motion"])["state"] == "off", timeout=20)
        log(f"off_delay took {time.monotonic() - t:.1f}s")
        pir.edge(False)
        door.edge(True)
        wait("door open", lambda: ha.state(E[f"{NODE}_door_contact"])["state"] == "on")
        time.sleep(0.1)  # beyond the 50 ms debounce
        door.edge(False)
        wait("door closed", lambda: ha.state(E[f"{NODE}_door_contact"])["state"] == "off")

        # 3. Climate: HA sets the target and the mode.
        climate = E[f"{NODE}_thermostat_living"]
        ha.api("POST", "/api/services/climate/set_temperature", {"entity_id": climate, "temperature": 23.5})
        wait("the thermostat takes HA's target", lambda: (lambda s: s["attributes"].get("temperature") == 23.5
                                                           and s["attributes"].get("hvac_action") == "heating")(ha.state(climate)))
        wait("the gateway says where it came from",
             lambda: "set from Home Assistant: target 23.5 °C, mode heat" in gateway.output())
        ha.api("POST", "/api/services/climate/set_hvac_mode", {"entity_id": climate, "hvac_mode": "off"})
        wait("the thermostat is off", lambda: (lambda s: s["state"] == "off" and s["attributes"].get("hvac_action") == "off")(ha.state(climate)))

        # 4. Availability follows the gateway.
        assert gateway.stop() == 0, "the gateway did not stop cleanly"
        pir.close()  # a recording whose writer is gone has ended: the next gateway opens the FIFOs anew
        door.close()
        wait("unavailable once the gateway stops", lambda: all(
            ha.state(E[u])["state"] == "unavailable" for u in expected if u != f"{NODE}_status"))
        wait("its status shows disconnected", lambda: ha.state(E[f"{NODE}_status"])["state"] == "off")
        gateway.start()
        wait("available again with its values", lambda: ha.state(E[f"{NODE}_bme_temperature"])["state"] == "22.5"
             and ha.state(E[f"{NODE}_status"])["state"] == "on")
        wait("HA's target and mode survived the restart", lambda: (lambda s: s["state"] == "off"
                                                                    and s["attributes"].get("temperature") == 23.5)(ha.state(climate)))
        pir.open()
        door.open()

        # 5. Home Assistant restarts: entities come back with live (retained) states.
        kit("restart.sh")
        ha.reload()
        wait("entities back after HA restarts", lambda: all(
            (lambda s: s and s["state"] not in ("unavailable", "unknown") and not s["attributes"].get("restored"))(ha.state(E[u]))
            for u in (f"{NODE}_bme_temperature", f"{NODE}_bme_humidity", f"{NODE}_bme_pressure", f"{NODE}_door_contact",
                      f"{NODE}_thermostat_living", f"{NODE}_alert_damp")), timeout=60)
        assert ha.state(E[f"{NODE}_bme_pressure"])["state"] == "1009.136"
        assert ha.state(E[f"{NODE}_door_contact"])["state"] == "off"
        # Commands still work through the restarted HA: heat again (22.5 <= 23.5 - 0.5: heating).
        ha.api("POST", "/api/services/climate/set_hvac_mode", {"entity_id": climate, "hvac_mode": "heat"})
        wait("heating again after HA restarted", lambda: (lambda s: s["state"] == "heat"
                                                           and s["attributes"].get("hvac_action") == "heating")(ha.state(climate)))

        if screenshot:
            sys.path.insert(0, KIT)
            import ha_screenshot
            ha_screenshot.take(ha, [bme["id"], hub["id"]], screenshot, log)

        # A gateway that dies (kill -9) is unavailable too: the broker publishes its last will.
        gateway.proc.kill()
        gateway.proc.wait()
        wait("unavailable after a kill -9 (last will)", lambda: ha.state(E[f"{NODE}_bme_temperature"])["state"] == "unavailable")
        print("TEST-HA PASSED", flush=True)
    except BaseException:
        if gateway:
            print("----- gateway log (tail)", file=sys.stderr)
            print("\n".join(gateway.output().splitlines()[-40:]), file=sys.stderr)
        print(f"----- Home Assistant log: {HASS_HOME}/config/home-assistant.log", file=sys.stderr)
        raise
    finally:
        if gateway:
            gateway.stop()
        for line in (pir, door) if "door" in locals() else ():
            line.close()
        kit("stop.sh", check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

# Copied unchanged from the team's HA kit (../shared/ha/): CI clones only this repository.
"""Bring a just-launched Home Assistant to a usable state, non-interactively.

Run with the venv's python (it needs aiohttp, which HA ships); start.sh and
restart.sh call it:

    hass_setup.py setup   HASS_PORT MQTT_PORT ENV_FILE HASS_PID
    hass_setup.py restart HASS_PORT MQTT_PORT ENV_FILE HASS_PID

setup (fresh config dir):
  1. waits until HTTP answers
  2. onboarding: POST /api/onboarding/users -> auth code
  3. POST /auth/token (form-encoded) -> 30-minute access token
  4. websocket auth/long_lived_access_token -> long-lived token (10 years)
  5. waits for core state RUNNING
  6. MQTT config flow against 127.0.0.1:MQTT_PORT
  7. waits until the entry is loaded and HA's MQTT birth message is seen
restart (same config dir, HA just relaunched):
  checks that HASS_TOKEN from ENV_FILE still works (if not, logs in with
  HASS_USER / HASS_PASSWORD and creates a new long-lived token), then 5 and 7.

Updates ENV_FILE (KEY=VALUE lines). Bounded by timeouts; only 127.0.0.1.
"""

import asyncio
import json
import os
import sys
import time

import aiohttp

HOST = "127.0.0.1"
HTTP_WAIT_S = float(os.environ.get("HASS_HTTP_WAIT_S", "240"))
RUNNING_WAIT_S = float(os.environ.get("HASS_RUNNING_WAIT_S", "300"))
BIRTH_WAIT_S = int(os.environ.get("HASS_BIRTH_WAIT_S", "120"))
T0 = float(os.environ.get("HASS_T0", time.time()))  # when hass was launched


def log(msg):
    print(f"[hass_setup +{time.time() - T0:6.1f}s] {msg}", flush=True)


def alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"  # a zombie is dead
    except OSError:
        return False


def read_env(path):
    env = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
    return env


def update_env(path, values):
    env = read_env(path)
    env.update({k: str(v) for k, v in values.items()})
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in env.items())
    os.replace(tmp, path)


async def wait_for(desc, fn, timeout, pid, interval=0.5):
    """Poll async fn() until it returns a truthy value; fail if hass dies."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if not alive(pid):
            raise SystemExit(f"hass (pid {pid}) died while waiting for {desc}")
        try:
            res = await fn()
            if res:
                return res
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as err:
            last = err
        await asyncio.sleep(interval)
    raise SystemExit(f"timeout after {timeout}s waiting for {desc} (last error: {last!r})")


async def long_lived_token(s, base, access):
    """A long-lived token is only available over the websocket API."""
    async with s.ws_connect(base.replace("http://", "ws://") + "/api/websocket",
                            timeout=aiohttp.ClientWSTimeout(ws_close=10)) as ws:
        async def recv():
            return await asyncio.wait_for(ws.receive_json(), 30)
        msg = await recv()
        assert msg["type"] == "auth_required", msg
        await ws.send_json({"type": "auth", "access_token": access})
        msg = await recv()
        assert msg["type"] == "auth_ok", msg
        await ws.send_json({"id": 1, "type": "auth/long_lived_access_token",
                            "client_name": f"sensorgate-test-{time.time_ns()}",  # must be unique
                            "lifespan": 3650})
        msg = await recv()
        if not msg.get("success"):
            raise SystemExit(f"auth/long_lived_access_token failed: {msg}")
        return msg["result"]


async def code_to_access(s, base, code):
    # form-encoded, not JSON; client_id must be the same URL as when the code was made
    async with s.post(f"{base}/auth/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": f"{base}/"}) as r:
        tok = await r.json()
        if r.status != 200:
            raise SystemExit(f"/auth/token -> {r.status}: {tok}")
    return tok["access_token"]


async def login(s, base, user, password):
    """Username/password login flow -> access token (used if a token was lost)."""
    cid = f"{base}/"
    async with s.post(f"{base}/auth/login_flow", json={
            "client_id": cid, "handler": ["homeassistant", None], "redirect_uri": cid}) as r:
        flow = await r.json()
    async with s.post(f"{base}/auth/login_flow/{flow['flow_id']}", json={
            "client_id": cid, "username": user, "password": password}) as r:
        res = await r.json()
        if res.get("type") != "create_entry":
            raise SystemExit(f"login as {user} failed: {res}")
    return await code_to_access(s, base, res["result"])


WATCHERS = []


async def birth_watcher(mqtt_port):
    """mosquitto_sub for HA's birth message; -R skips a stale retained one."""
    args = ["mosquitto_sub", "-h", HOST, "-p", str(mqtt_port), "-t", "homeassistant/status",
            "-R", "-C", "1", "-W", str(BIRTH_WAIT_S)]
    if os.environ.get("MQTT_USERNAME"):
        args += ["-u", os.environ["MQTT_USERNAME"], "-P", os.environ.get("MQTT_PASSWORD", "")]
    p = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    WATCHERS.append(p)
    return p


async def await_birth(birth):
    try:
        out, _ = await asyncio.wait_for(birth.communicate(), BIRTH_WAIT_S + 5)
    except asyncio.TimeoutError:
        birth.kill()
        out = b""
    if out.strip() != b"online":
        raise SystemExit(f"no MQTT birth message from HA within {BIRTH_WAIT_S}s (got {out!r})")


async def main():
    mode = sys.argv[1]
    hass_port, mqtt_port, env_file, pid = (
        int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    env = read_env(env_file)
    user = env.get("HASS_USER") or os.environ.get("HASS_USER", "sensorgate")
    password = env.get("HASS_PASSWORD") or os.environ.get("HASS_PASSWORD", "sensorgate-test-pw")
    base = f"http://{HOST}:{hass_port}"
    out = {"HASS_USER": user, "HASS_PASSWORD": password}
    timings = {}
    # subscribe before HA can connect, so the birth message cannot be missed
    birth = await birth_watcher(mqtt_port) if mode == "restart" else None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:

        # 1) HTTP answers. /api/onboarding needs no auth (polling /api/ without
        #    a token would log http.ban warnings); any status < 500 means up.
        async def http_up():
            async with s.get(f"{base}/api/onboarding") as r:
                return r.status < 500
        await wait_for("HTTP", http_up, HTTP_WAIT_S, pid)
        timings["http_s"] = round(time.time() - T0, 2)
        log(f"HTTP answers on {base}")

        if mode == "setup":
            # 2) owner user via onboarding (404 until the view is registered)
            async def onboard():
                async with s.post(f"{base}/api/onboarding/users", json={
                        "client_id": f"{base}/", "name": "Sensorgate Test", "username": user,
                        "password": password, "language": "en"}) as r:
                    if r.status == 404:
                        return None
                    body = await r.text()
                    if r.status != 200:
                        raise SystemExit(f"onboarding/users -> {r.status}: {body}")
                    return json.loads(body)["auth_code"]
            code = await wait_for("onboarding view", onboard, HTTP_WAIT_S, pid)
            access = await code_to_access(s, base, code)          # 3)
            token = await long_lived_token(s, base, access)       # 4)
            log("owner user, access token and long-lived token created")
        else:
            token = env["HASS_TOKEN"]

            async def token_answer():  # 404 until the api integration is set up
                async with s.get(f"{base}/api/", headers={"Authorization": f"Bearer {token}"}) as r:
                    return r.status if r.status in (200, 401) else None
            status = await wait_for("auth API", token_answer, HTTP_WAIT_S, pid)
            if status == 401:
                log("HASS_TOKEN no longer accepted; logging in for a new long-lived token")
                token = await long_lived_token(s, base, await login(s, base, user, password))
            else:
                log(f"HASS_TOKEN still accepted (GET /api/ -> {status})")
        out["HASS_TOKEN"] = token
        hdr = {"Authorization": f"Bearer {token}"}

        # 5) core state RUNNING
        async def running():
            async with s.get(f"{base}/api/config", headers=hdr) as r:
                return r.status == 200 and (await r.json()).get("state") == "RUNNING"
        await wait_for("core state RUNNING", running, RUNNING_WAIT_S, pid)
        timings["running_s"] = round(time.time() - T0, 2)
        log("core state RUNNING")

        if mode == "setup":
            # 6) MQTT config flow (needs an admin token)
            birth = await birth_watcher(mqtt_port)
            await asyncio.sleep(0.3)  # let mosquitto_sub subscribe first
            async with s.post(f"{base}/api/config/config_entries/flow", headers=hdr,
                              json={"handler": "mqtt", "show_advanced_options": False}) as r:
                flow = await r.json()
                if r.status != 200:
                    raise SystemExit(f"start mqtt flow -> {r.status}: {flow}")
            if flow.get("type") == "menu":  # only on Supervisor installs
                async with s.post(f"{base}/api/config/config_entries/flow/{flow['flow_id']}",
                                  headers=hdr, json={"next_step_id": "broker"}) as r:
                    flow = await r.json()
            broker = {"broker": HOST, "port": mqtt_port}
            if os.environ.get("MQTT_USERNAME"):
                broker["username"] = os.environ["MQTT_USERNAME"]
                broker["password"] = os.environ.get("MQTT_PASSWORD", "")
            async with s.post(f"{base}/api/config/config_entries/flow/{flow['flow_id']}",
                              headers=hdr, json=broker) as r:
                res = await r.json()
                if r.status != 200 or res.get("type") != "create_entry":
                    raise SystemExit(f"mqtt broker step -> {r.status}: {res}")
            entry_id = res["result"]["entry_id"]
            log(f"MQTT integration added for 127.0.0.1:{mqtt_port}")
        else:
            entry_id = env.get("MQTT_ENTRY_ID")
        out["MQTT_ENTRY_ID"] = entry_id

        # 7) entry loaded, then HA's birth message: sent after the discovery
        #    subscriptions are in place (~5 s after the connection)
        async def loaded():
            async with s.get(f"{base}/api/config/config_entries/entry", headers=hdr) as r:
                for e in await r.json():
                    if e["entry_id"] == entry_id or (not entry_id and e["domain"] == "mqtt"):
                        if e["state"] in ("setup_error", "setup_retry", "failed_unload"):
                            raise SystemExit(f"mqtt entry state {e['state']}: {e.get('reason')}")
                        return e["state"] == "loaded"
        await wait_for("mqtt entry loaded", loaded, 60, pid)
        log("MQTT entry loaded")
        await await_birth(birth)
        timings["mqtt_birth_s"] = round(time.time() - T0, 2)
        log("HA's MQTT birth message seen on homeassistant/status")

    out["HASS_URL"] = base
    out.update({f"T_{mode.upper()}_{k.upper()}": v for k, v in timings.items()})
    update_env(env_file, out)


async def run():
    try:
        await main()
    finally:  # never leave the birth watcher behind
        for p in WATCHERS:
            if p.returncode is None:
                p.kill()
                await p.wait()


if __name__ == "__main__":
    asyncio.run(run())

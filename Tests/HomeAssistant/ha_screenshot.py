"""A screenshot of a Home Assistant device page in headless Chromium, logged in.

HA's frontend keeps its login in localStorage (`hassTokens`), so a plain `chromium --screenshot`
only ever shows the login form. Here Chromium runs with its DevTools protocol on a loopback
port: the page is opened on HA's origin, the tokens of a real login (username and password from
the kit's hass.env, through HA's login flow) are put into localStorage, and then the device page
is loaded and captured. Used by `make ha-screenshot` through test_ha.py --screenshot.
"""

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import aiohttp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def login(session, base, user, password):
    """HA's login flow: an access token with its refresh token, as the frontend holds them."""
    cid = f"{base}/"
    async with session.post(f"{base}/auth/login_flow", json={"client_id": cid, "handler": ["homeassistant", None],
                                                            "redirect_uri": cid}) as r:
        flow = await r.json()
    async with session.post(f"{base}/auth/login_flow/{flow['flow_id']}",
                            json={"client_id": cid, "username": user, "password": password}) as r:
        result = await r.json()
    async with session.post(f"{base}/auth/token", data={"grant_type": "authorization_code", "code": result["result"],
                                                        "client_id": cid}) as r:
        tokens = await r.json()
    return dict(tokens, hassUrl=base, clientId=cid, expires=int(time.time() * 1000) + tokens["expires_in"] * 1000)


async def finish_onboarding(session, base, token):
    """The kit onboards the user only; the frontend shows the rest of the wizard until these are done."""
    auth = {"Authorization": f"Bearer {token}"}
    for step, body in (("core_config", None), ("analytics", None),
                       ("integration", {"client_id": f"{base}/", "redirect_uri": f"{base}/?auth_callback=1"})):
        async with session.post(f"{base}/api/onboarding/{step}", headers=auth, json=body) as r:
            if r.status not in (200, 403):  # 403: that step is done already
                raise AssertionError(f"onboarding {step} -> {r.status}: {await r.text()}")


async def capture(base, user, password, token, paths, port):
    async with aiohttp.ClientSession() as s:
        await finish_onboarding(s, base, token)
        tokens = await login(s, base, user, password)
        for _ in range(100):
            try:
                async with s.get(f"http://127.0.0.1:{port}/json") as r:
                    pages = [p for p in await r.json() if p.get("type") == "page"]
                    if pages:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        async with s.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024) as ws:
            ids = iter(range(1, 1000))

            async def call(method, **params):
                i = next(ids)
                await ws.send_json({"id": i, "method": method, "params": params})
                while True:
                    msg = await asyncio.wait_for(ws.receive_json(), 60)
                    if msg.get("id") == i:
                        return msg.get("result", {})

            await call("Page.enable")
            await call("Page.navigate", url=f"{base}/")
            await asyncio.sleep(2)
            await call("Runtime.evaluate", expression=f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))})")
            for path, out in paths:
                await call("Page.navigate", url=f"{base}{path}")
                await asyncio.sleep(8)  # the frontend loads, connects its websocket and renders the cards
                shot = await call("Page.captureScreenshot", format="png")
                with open(out, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))


def take(ha, device_ids, out_prefix, log):
    """Saves <out_prefix>-<n>.png for each device id's page."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise AssertionError("no chromium on PATH (apt-get install chromium)")
    port = free_port()
    profile = tempfile.mkdtemp(prefix="sensorgate-chromium-")
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "--window-size=1200,900", "--hide-scrollbars", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        paths = [(f"/config/devices/device/{d}", f"{out_prefix}-{n}.png") for n, d in enumerate(device_ids, start=1)]
        asyncio.run(capture(ha.url, ha.user, ha.password, ha.token, paths, port))
        for _, out in paths:
            log(f"screenshot {out} ({os.path.getsize(out)} bytes)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)

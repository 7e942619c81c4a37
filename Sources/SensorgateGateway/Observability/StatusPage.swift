// The status page at `/`: one self-contained HTML file compiled into the binary (no CDN, no web
// fonts, no images: it must work on a Pi with no internet). It opens `/events` (Server-Sent
// Events) and redraws from each `status` message; `history` messages bring each device's last
// hour for its sparkline. Laid out for a phone first (one column), a grid on wider screens.
// Text from the gateway (ids, locations, messages) is only ever set as textContent.

enum StatusPage {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"

    static let html: [UInt8] = Array(text.utf8)

    private static let text = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>sensorgate</title>
<style>
:root { --bg:#f6f7f9; --card:#fff; --text:#1d232b; --muted:#667085; --line:#e3e6ea; --ok:#1a7f37; --bad:#c62828;
        --warn:#b26a00; --info:#1f6feb; --accent:#0f766e; --spark:#0f766e; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#111418; --card:#1b2027; --text:#e6e9ee; --muted:#9aa4b2; --line:#2b323c; --ok:#3fb950; --bad:#f85149;
          --warn:#d29922; --info:#58a6ff; --accent:#2dd4bf; --spark:#2dd4bf; }
}
* { box-sizing: border-box; }
body { margin:0; font:16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1rem; padding:.75rem 1rem; background:var(--card);
         border-bottom:1px solid var(--line); position:sticky; top:0; z-index:1; }
header h1 { font-size:1.1rem; margin:0; font-weight:600; }
header h1 small { color:var(--muted); font-weight:400; }
.pill { display:inline-block; padding:.1rem .6rem; border-radius:1rem; font-size:.85rem; font-weight:600; color:#fff; background:var(--muted); }
.pill.ok { background:var(--ok); } .pill.bad { background:var(--bad); } .pill.warn { background:var(--warn); }
main { padding:1rem; max-width:1200px; margin:0 auto; }
h2 { font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:1.25rem 0 .5rem; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(260px, 1fr)); gap:.75rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:.75rem; padding:.75rem .9rem; min-width:0; }
.card .name { font-weight:600; overflow-wrap:anywhere; }
.card .sub { color:var(--muted); font-size:.85rem; overflow-wrap:anywhere; }
.value { font-size:2rem; font-weight:650; font-variant-numeric:tabular-nums; line-height:1.2; margin:.25rem 0; }
.value .unit { font-size:1rem; font-weight:500; color:var(--muted); margin-left:.15rem; }
.row { display:flex; justify-content:space-between; gap:.5rem; font-size:.9rem; }
.row span:last-child { font-variant-numeric:tabular-nums; text-align:right; }
svg.spark { display:block; width:100%; height:44px; margin-top:.35rem; }
svg.spark polyline { fill:none; stroke:var(--spark); stroke-width:1.6; vector-effect:non-scaling-stroke; }
svg.spark rect { fill:var(--spark); opacity:.7; }
.failing { border-color:var(--bad); }
.failing .sub.fail { color:var(--bad); }
.alerts { list-style:none; margin:0; padding:0; display:grid; gap:.5rem; }
.alerts li { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--info); border-radius:.5rem; padding:.5rem .75rem; overflow-wrap:anywhere; }
.alerts li.warning { border-left-color:var(--warn); } .alerts li.critical { border-left-color:var(--bad); }
.alerts .rule { font-weight:600; margin-right:.4rem; }
.reasons { margin:.5rem 0 0; padding-left:1.2rem; color:var(--bad); }
.empty { color:var(--muted); }
footer { color:var(--muted); font-size:.8rem; padding:1rem; text-align:center; }
footer a { color:inherit; }
</style>
</head>
<body>
<header>
  <h1>sensorgate <small id="gateway">…</small></h1>
  <span id="health" class="pill">…</span>
  <span id="live" class="pill warn">connecting</span>
</header>
<main>
  <ul id="reasons" class="reasons" hidden></ul>
  <h2>Gateway</h2>
  <div class="grid" id="summary">
    <div class="card" id="uplink"><div class="name">Uplink</div><div class="value" data-k="state">…</div><div class="sub" data-k="broker"></div>
      <div class="row"><span>in flight</span><span data-k="inflight"></span></div>
      <div class="row"><span>connects / drops</span><span data-k="connects"></span></div></div>
    <div class="card" id="buffer"><div class="name">Offline buffer</div><div class="value" data-k="events">…</div>
      <div class="row"><span>bytes</span><span data-k="bytes"></span></div>
      <div class="row"><span>oldest</span><span data-k="oldest"></span></div>
      <div class="row"><span>dropped / dead letters</span><span data-k="dropped"></span></div></div>
    <div class="card" id="events"><div class="name">Events</div><div class="value" data-k="emitted">…</div>
      <div class="row"><span>last seq</span><span data-k="seq"></span></div>
      <div class="row"><span>up</span><span data-k="uptime"></span></div>
      <div class="row"><span>version</span><span data-k="version"></span></div></div>
  </div>
  <h2>Alerts</h2>
  <ul class="alerts" id="alerts"><li class="empty">none raised</li></ul>
  <h2>Devices</h2>
  <div class="grid" id="devices"></div>
  <h2 id="thermostats-title" hidden>Thermostats</h2>
  <div class="grid" id="thermostats"></div>
</main>
<footer><a data-link href="/status">/status</a> · <a data-link href="/metrics">/metrics</a> · <a data-link href="/healthz">/healthz</a></footer>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const q = token ? "?token=" + encodeURIComponent(token) : "";
document.querySelectorAll("a[data-link]").forEach(a => a.href = a.getAttribute("href") + q);
const $ = id => document.getElementById(id);
const histories = {};
let last = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function setK(card, key, text) { const e = card.querySelector('[data-k="' + key + '"]'); if (e) e.textContent = text; }
function ago(s) {
  if (s === null || s === undefined) return "never";
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h ago";
  return Math.floor(s / 86400) + " d ago";
}
function span(s) {
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor(s % 86400 / 3600) + " h";
}
function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KB";
  return (n / 1048576).toFixed(1) + " MB";
}
function fmt(v) { return (Math.round(v * 100) / 100).toFixed(Math.abs(v) < 100 ? 2 : 1); }

const SVG = "http://www.w3.org/2000/svg";
// Motion: the events per 30 s bucket over the hour, as bars.
function bars(svg, values) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const n = values.length, w = 240, h = 44, pad = 3, max = Math.max(1, ...values.filter(v => v !== null)), bw = w / n;
  values.forEach((v, i) => {
    if (!v) return;
    const r = document.createElementNS(SVG, "rect"), bh = Math.max(2, (h - pad) * v / max);
    r.setAttribute("x", (i * bw).toFixed(1)); r.setAttribute("width", Math.max(1, bw - .5).toFixed(1));
    r.setAttribute("y", (h - bh).toFixed(1)); r.setAttribute("height", bh.toFixed(1));
    svg.appendChild(r);
  });
}
// Values: [time (s), value] oldest first, drawn from the oldest (at most an hour back) to now,
// broken where nothing came for a minute and a half.
function line(svg, points, now) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  if (!points.length) return;
  const w = 240, h = 44, pad = 3, t0 = Math.max(now - 3600, points[0][0]), span = Math.max(1, now - t0);
  let lo = Math.min(...points.map(p => p[1])), hi = Math.max(...points.map(p => p[1]));
  if (hi - lo < 0.2) { const mid = (hi + lo) / 2; lo = mid - 0.1; hi = mid + 0.1; }
  const runs = [];
  let run = [], prev = null;
  for (const [t, v] of points) {
    if (t < t0) continue;
    if (prev !== null && t - prev > 90) { runs.push(run); run = []; }
    run.push([(t - t0) / span * w, pad + (h - 2 * pad) * (1 - (v - lo) / (hi - lo))]);
    prev = t;
  }
  runs.push(run);
  for (const r of runs) {
    if (!r.length) continue;
    if (r.length === 1) {
      const dot = document.createElementNS(SVG, "rect");
      dot.setAttribute("x", Math.min(r[0][0], w - 3) - 1.5); dot.setAttribute("y", r[0][1] - 1.5);
      dot.setAttribute("width", 3); dot.setAttribute("height", 3);
      svg.appendChild(dot);
      continue;
    }
    const pl = document.createElementNS(SVG, "polyline");
    pl.setAttribute("points", r.map(p => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" "));
    svg.appendChild(pl);
  }
}
// What the page saw itself since it opened (a point a second): the line has a shape from the
// first minute on, before the 30 s histories have more than one bucket.
const seen = {};

function deviceCard(d) {
  let card = document.querySelector('[data-device="' + CSS.escape(d.id) + '"]');
  if (!card) {
    card = el("article", "card device");
    card.dataset.device = d.id;
    card.dataset.updates = "0";
    card.append(el("div", "name", d.id), el("div", "sub location"), el("div", "value"), el("div", "sub when"), el("div", "sub fail"));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark"); svg.setAttribute("viewBox", "0 0 240 44"); svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-label", "the last hour");
    card.append(svg);
    $("devices").append(card);
  }
  return card;
}

function renderDevice(d) {
  const card = deviceCard(d);
  card.querySelector(".location").textContent = [d.location, d.type].filter(Boolean).join(" · ");
  const value = card.querySelector(".value");
  let shown;
  if (d.type === "MotionDetected") {
    shown = d.time ? "motion" : "–";
    value.textContent = shown;
    if (d.time) { value.append(el("span", "unit", ago(d.age_seconds))); shown += " #" + d.seq; }
  } else if (d.value !== null) {
    shown = fmt(d.value);
    value.textContent = shown;
    value.append(el("span", "unit", d.unit || ""));
  } else if (d.text) {
    shown = d.text;
    value.textContent = shown;
  } else {
    shown = "–";
    value.textContent = shown;
  }
  // A device with several channels (a BME280): the others' last values beside the first's.
  const others = (d.channels || []).filter(c => c.type !== d.type).map(c => c.text).join(" · ");
  if (others) value.append(el("span", "unit", " · " + others));
  if (card.dataset.shown !== shown) { card.dataset.shown = shown; card.dataset.updates = String(+card.dataset.updates + 1); }
  card.querySelector(".when").textContent = d.time ? ago(d.age_seconds) + " · #" + d.seq + " · " + d.readings + " readings" : "no reading yet";
  const failures = Object.entries(d.failures).map(([k, v]) => k + " " + v).join(", ");
  card.querySelector(".fail").textContent = d.failing ? "failing: " + (d.last_failure || "") : failures ? "failures: " + failures : "";
  card.classList.toggle("failing", d.failing);
  const h = histories[d.id], now = Date.now() / 1000, svg = card.querySelector("svg");
  if (d.type === "MotionDetected") {
    if (h) bars(svg, h.values);
    return;
  }
  const mine = seen[d.id] || (seen[d.id] = []);
  if (d.value !== null && d.time) {
    const t = Date.parse(d.time) / 1000;
    if (!mine.length || mine[mine.length - 1][0] < t) mine.push([t, d.value]);
    while (mine.length && mine[0][0] < now - 3600) mine.shift();
  }
  const first = mine.length ? mine[0][0] : Infinity, points = [];
  if (h) h.values.forEach((v, i) => {
    const t = h.end - (h.values.length - i) * h.step + h.step / 2;
    if (v !== null && t < first - h.step / 2) points.push([t, v]);
  });
  line(svg, points.concat(mine), now);
}

function renderThermostat(t) {
  let card = document.querySelector('[data-thermostat="' + CSS.escape(t.name) + '"]');
  if (!card) {
    card = el("article", "card thermostat");
    card.dataset.thermostat = t.name;
    card.append(el("div", "name", t.name), el("div", "sub device"), el("div", "value"),
                el("div", "row"), el("div", "row"));
    $("thermostats").append(card);
  }
  card.querySelector(".device").textContent = "sensor " + t.device + (t.stale ? " · silent: fail-safe off" : "");
  const value = card.querySelector(".value");
  value.textContent = "";
  value.append(el("span", "pill " + (t.output === "on" ? "ok" : ""), "output " + t.output));
  const rows = card.querySelectorAll(".row");
  rows[0].replaceChildren(el("span", "", "mode / target"), el("span", "", t.mode + " · " + fmt(t.target) + " °C"));
  rows[1].replaceChildren(el("span", "", "now"), el("span", "", t.celsius === null ? "–" : fmt(t.celsius) + " °C"));
}

function render(s) {
  last = s;
  document.title = "sensorgate " + s.gateway;
  $("gateway").textContent = s.gateway;
  const healthy = s.health.status === "ok";
  $("health").textContent = healthy ? "healthy" : "unhealthy";
  $("health").className = "pill " + (healthy ? "ok" : "bad");
  const reasons = $("reasons");
  reasons.replaceChildren(...s.health.reasons.map(r => el("li", "", r.reason + ": " + r.message)));
  reasons.hidden = healthy;

  const up = $("uplink");
  if (s.uplink) {
    setK(up, "state", s.uplink.connected ? "connected" : "down" + (s.uplink.down_seconds !== null ? " " + span(s.uplink.down_seconds) : ""));
    up.querySelector('[data-k="state"]').style.color = s.uplink.connected ? "var(--ok)" : "var(--bad)";
    setK(up, "broker", s.uplink.broker);
    setK(up, "inflight", s.uplink.in_flight);
    setK(up, "connects", s.uplink.connects + " / " + s.uplink.disconnects);
    const b = $("buffer");
    setK(b, "events", s.buffer.events + " events");
    setK(b, "bytes", bytes(s.buffer.bytes) + " of " + bytes(s.buffer.max_bytes));
    setK(b, "oldest", s.buffer.oldest_age_seconds === null ? "–" : span(s.buffer.oldest_age_seconds));
    setK(b, "dropped", s.buffer.dropped + " / " + s.buffer.dead_lettered);
  } else {
    setK(up, "state", "no broker");
    setK($("buffer"), "events", "–");
  }
  const ev = $("events");
  setK(ev, "emitted", s.events.emitted);
  setK(ev, "seq", s.events.last_seq === null ? "–" : "#" + s.events.last_seq);
  setK(ev, "uptime", span(s.uptime_seconds));
  setK(ev, "version", s.version);

  const alerts = $("alerts");
  alerts.replaceChildren(...(s.alerts.length ? s.alerts.map(a => {
    const li = el("li", a.severity);
    li.append(el("span", "rule", a.rule), el("span", "", a.severity + ": " + a.message));
    return li;
  }) : [el("li", "empty", "none raised")]));

  const ids = new Set(s.devices.map(d => d.id));
  document.querySelectorAll("[data-device]").forEach(c => { if (!ids.has(c.dataset.device)) c.remove(); });
  s.devices.forEach(renderDevice);
  const names = new Set(s.thermostats.map(t => t.name));
  document.querySelectorAll("[data-thermostat]").forEach(c => { if (!names.has(c.dataset.thermostat)) c.remove(); });
  s.thermostats.forEach(renderThermostat);
  $("thermostats-title").hidden = s.thermostats.length === 0;
}

function connect() {
  const events = new EventSource("/events" + q);
  events.addEventListener("history", e => {
    Object.assign(histories, JSON.parse(e.data));
    if (last) render(last);
  });
  events.addEventListener("status", e => {
    $("live").textContent = "live";
    $("live").className = "pill ok";
    render(JSON.parse(e.data));
  });
  events.onerror = () => {
    $("live").textContent = "reconnecting";
    $("live").className = "pill warn";
  };
}
connect();
</script>
</body>
</html>
"""#
}

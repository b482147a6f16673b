// What every dashboard page shares: the API client and its credentials, the time
// range, auto-refresh with its countdown, the live WebSocket, export, and charts.
"use strict";

const MX = (() => {
  const API = "/api/v1";
  // sessionStorage: {"kind": "key" | "jwt", "value": "…"}, or for a user who logged in
  // with a password {"kind": "user", "value": access token, "refresh": refresh token,
  // "expires": epoch ms}.
  const CREDENTIAL = "monitorx-credential";
  const RANGES = {"15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800};
  // Bucket widths a chart may use; the smallest that keeps a range under MAX_POINTS.
  const INTERVALS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  const MAX_POINTS = 200;
  const params = new URLSearchParams(location.search);
  const refreshers = [];
  let exporter = () => ({name: document.body.dataset.page, rows: []});

  // ---- credentials and the REST API ----
  function credential() {
    try { return JSON.parse(sessionStorage.getItem(CREDENTIAL) || "null"); } catch { return null; }
  }
  // With auth off, the project this tab looks at (blank: the server's own), sent as
  // X-MonitorX-Project; with auth on, a credential's project is the one it acts in.
  const PROJECT = "monitorx-project";
  const chosenProject = () => sessionStorage.getItem(PROJECT) || "";
  function authHeaders() {
    const c = credential();
    if (!c) {
      const project = chosenProject();
      return project ? {"X-MonitorX-Project": project} : {};
    }
    return c.kind === "key" ? {"X-API-Key": c.value} : {"Authorization": "Bearer " + c.value};
  }
  // ``project``: the one the user logged in to ("" or absent: the server's own); a
  // refresh token is renewed in its project.
  function keepTokens(pair, project) {
    sessionStorage.setItem(CREDENTIAL, JSON.stringify({
      kind: "user", value: pair.access_token, refresh: pair.refresh_token,
      expires: Date.now() + pair.expires_in * 1000, project: project || "",
    }));
  }
  // A user's access token lasts minutes: it is renewed a minute before it expires,
  // and once more on a 401. One renewal at a time: a refresh token works once, and
  // a second use would revoke the whole login.
  const RENEW_BEFORE_MS = 60_000;
  let renewing = null;
  function renewTokens() {
    if (!renewing) {
      renewing = (async () => {
        const c = credential();
        if (!c || c.kind !== "user" || !c.refresh) return false;
        const headers = {"Content-Type": "application/json"};
        if (c.project) headers["X-MonitorX-Project"] = c.project;
        const response = await fetch(API + "/auth/token", {
          method: "POST", headers, body: JSON.stringify({refresh_token: c.refresh}),
        });
        if (!response.ok) { sessionStorage.removeItem(CREDENTIAL); return false; }
        keepTokens(await response.json(), c.project);
        return true;
      })().finally(() => { renewing = null; });
    }
    return renewing;
  }
  async function request(method, path, body) {
    const c = credential();
    if (c && c.kind === "user" && Date.now() > c.expires - RENEW_BEFORE_MS) await renewTokens();
    let sentWith = null;
    const send = () => {
      const headers = authHeaders();
      sentWith = (credential() || {}).value;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(API + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    };
    let response = await send();
    if (response.status === 401 && c && c.kind === "user") {
      // Renewed meanwhile by another request: just send again with the new token.
      const now = credential();
      if (now && (now.value !== sentWith || await renewTokens())) response = await send();
    }
    if (response.status === 401 && document.body.dataset.page !== "login") {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("sign in needed");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = data && (data.detail || data.error) ? (data.detail || data.error) : response.status;
      const error = new Error(`${method} ${path}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }
  const get = (path) => request("GET", path);
  // A file from the API (sent with the credentials), saved under ``name``.
  async function save(path, name) {
    const response = await fetch(API + path, {headers: authHeaders()});
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `${path}: ${response.status}`);
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
  const post = (path, body) => request("POST", path, body === undefined ? {} : body);
  const query = (values) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) {
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x)); else if (v !== null && v !== undefined && v !== "") q.set(k, v);
    }
    return q.toString();
  };

  // ---- time range: ?range=1h or ?start=…&end=… on the URL, so a link shares the view ----
  function range() {
    if (params.get("start")) {
      const start = new Date(params.get("start"));
      const end = params.get("end") ? new Date(params.get("end")) : new Date();
      return {key: "custom", start, end, seconds: Math.max(1, (end - start) / 1000)};
    }
    const key = RANGES[params.get("range")] ? params.get("range") : (document.body.dataset.defaultRange || "1h");
    const end = new Date();
    return {key, start: new Date(end - RANGES[key] * 1000), end, seconds: RANGES[key]};
  }
  // A fixed range ending now (a dashboard panel's own range).
  range.forKey = (key) => {
    const end = new Date();
    return {key, start: new Date(end - RANGES[key] * 1000), end, seconds: RANGES[key]};
  };
  function intervalFor(seconds) {
    return INTERVALS.find((s) => seconds / s <= MAX_POINTS) || INTERVALS[INTERVALS.length - 1];
  }
  function setParams(values) {
    for (const [k, v] of Object.entries(values)) { if (v === null) params.delete(k); else params.set(k, v); }
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
  }
  const localInput = (d) => new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  function initRange() {
    const select = document.getElementById("range");
    const custom = document.getElementById("custom-range");
    const r = range();
    select.value = r.key;
    custom.hidden = r.key !== "custom";
    document.getElementById("range-start").value = localInput(r.start);
    document.getElementById("range-end").value = localInput(r.end);
    select.addEventListener("change", () => {
      if (select.value === "custom") { custom.hidden = false; return; }
      custom.hidden = true;
      setParams({range: select.value, start: null, end: null});
      refreshNow();
    });
    document.getElementById("range-apply").addEventListener("click", () => {
      const start = new Date(document.getElementById("range-start").value);
      const end = new Date(document.getElementById("range-end").value);
      if (!(start < end)) { toast("The range's start must be before its end."); return; }
      setParams({range: null, start: start.toISOString(), end: end.toISOString()});
      refreshNow();
    });
  }

  // Aggregates at a bucket width that fits the range: never the raw points.
  async function aggregate(modelId, metric, agg, r = range()) {
    const interval = intervalFor(r.seconds);
    const rows = await get("/metrics/aggregate?" + query({
      model_id: modelId, metric, agg, interval, start: r.start.toISOString(), end: r.end.toISOString(),
    }));
    return {interval, x: rows.map((p) => p.time), y: rows.map((p) => p.value)};
  }

  // The same for many models in one request: {interval, series: {model_id: {x, y}}}.
  async function aggregates(modelIds, metric, agg, r = range()) {
    if (!modelIds.length) return {interval: intervalFor(r.seconds), series: {}};
    const answer = await get("/metrics/aggregates?" + query({
      model_id: modelIds, metric, agg, interval: intervalFor(r.seconds),
      start: r.start.toISOString(), end: r.end.toISOString(),
    }));
    const series = {};
    for (const [id, rows] of Object.entries(answer.series)) {
      series[id] = {x: rows.map((p) => p.time), y: rows.map((p) => p.value)};
    }
    return {interval: answer.interval, series};
  }

  // ---- any metric by its labels: GET /metrics/query ----
  // ``q`` is a query panel's query: {metric, agg, labels: ["key:value" | "key!:value"],
  // group_by: [keys]}. One trace per group, named by its labels in group_by order
  // ("region=eu, model_id=ranker-v2"; the metric's name when ungrouped), at the
  // range's bucket width: {interval, traces: [{name, x, y}], labels: [{...} per trace]}.
  function groupName(labels, q) {
    const keys = [...(q.group_by || []).filter((k) => k in labels), ...Object.keys(labels).filter((k) => !(q.group_by || []).includes(k))];
    return keys.length ? keys.map((k) => `${k}=${labels[k]}`).join(", ") : q.metric;
  }
  async function metricQuery(q, r = range()) {
    const answer = await get("/metrics/query?" + query({
      metric: q.metric, agg: q.agg, interval: intervalFor(r.seconds), start: r.start.toISOString(), end: r.end.toISOString(),
      label: q.labels || [], group_by: (q.group_by || []).join(","),
    }));
    return {
      interval: answer.interval,
      traces: answer.series.map((s) => ({name: groupName(s.labels, q), x: s.points.map((p) => p.time), y: s.points.map((p) => p.value)})),
      labels: answer.series.map((s) => s.labels),
    };
  }
  // The Explore page showing ``q`` (over ``rangeKey`` when given): a link to it.
  const exploreLink = (q, rangeKey = null) => "/explore?" + query({
    metric: q.metric, agg: q.agg, label: q.labels || [], group_by: (q.group_by || []).join(","), range: rangeKey,
  });

  // ---- auto-refresh: every 5–120 s, a visible countdown, pause and resume ----
  const timer = {every: 30, left: 30, paused: false, busy: false, again: false};
  function onRefresh(fn) { refreshers.push(fn); }
  // A refresh asked for while one runs (a control changed mid-way) runs after it.
  async function refreshNow() {
    timer.left = timer.every;
    if (timer.busy) { timer.again = true; return; }
    timer.busy = true;
    try {
      await Promise.all(refreshers.map((fn) => fn()));
      // How many refreshes completed, and when the first did (ms since navigation):
      // what the browser tests wait on and time.
      const count = Number(document.body.dataset.refreshed || 0) + 1;
      document.body.dataset.refreshed = String(count);
      if (count === 1) document.body.dataset.firstLoadMs = String(Math.round(performance.now()));
    } catch (error) {
      toast(error.message);
    } finally {
      timer.busy = false;
      showCountdown();
      if (timer.again) { timer.again = false; refreshNow(); }
    }
  }
  function showCountdown() {
    document.getElementById("countdown").textContent = timer.paused ? "paused" : `${timer.left} s`;
    document.getElementById("refresh-pause").textContent = timer.paused ? "Resume" : "Pause";
  }
  function initRefresh() {
    const every = document.getElementById("refresh-every");
    const saved = Number(params.get("refresh") || localStorage.getItem("monitorx-refresh-s") || 30);
    if ([5, 10, 30, 60, 120].includes(saved)) every.value = String(saved);
    timer.every = timer.left = Number(every.value);
    every.addEventListener("change", () => {
      timer.every = timer.left = Number(every.value);
      localStorage.setItem("monitorx-refresh-s", every.value);
      showCountdown();
    });
    document.getElementById("refresh-pause").addEventListener("click", () => {
      timer.paused = !timer.paused;
      showCountdown();
    });
    setInterval(() => {
      if (timer.paused || timer.busy) return;
      timer.left -= 1;
      if (timer.left <= 0) refreshNow(); else showCountdown();
    }, 1000);
    showCountdown();
  }

  // ---- live updates over /api/v1/ws ----
  // The credential goes in the socket's first message, never in its URL: URLs end
  // up in access logs (the server's, and any proxy's on the way).
  function live(models, onMessage) {
    const q = {model_id: models || []};
    if (!credential() && chosenProject()) q.project = chosenProject();
    const badge = document.getElementById("live");
    badge.hidden = false;
    let closedByPage = false;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${API}/ws?${query(q)}`);
      socket.onopen = () => {
        const c = credential();
        if (c) socket.send(JSON.stringify({type: "auth", [c.kind === "key" ? "api_key" : "token"]: c.value}));
      };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "subscribed") { badge.className = "live on"; return; }
        // How many live messages arrived: what the browser tests wait on.
        document.body.dataset.liveMessages = String(Number(document.body.dataset.liveMessages || 0) + 1);
        onMessage(message);
      };
      socket.onclose = () => {
        badge.className = "live off";
        if (!closedByPage) setTimeout(connect, 3000);
      };
      window.addEventListener("beforeunload", () => { closedByPage = true; socket.close(); });
    };
    connect();
  }

  // Redraw (at most once a second) when one of ``models`` gets metrics or an alert change.
  function liveRedraw(models) {
    let pending = null;
    live(models, () => {
      if (pending) return;
      pending = setTimeout(() => { pending = null; refreshNow(); }, 1000);
    });
  }

  // ---- export: CSV and JSON of what the page shows, timestamped file names ----
  function setExport(fn) { exporter = fn; }
  function stamp(d = new Date()) {
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  }
  function toCSV(rows) {
    if (!rows.length) return "";
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const escape = (v) => {
      const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return [columns.join(","), ...rows.map((r) => columns.map((c) => escape(r[c])).join(","))].join("\n") + "\n";
  }
  function download(kind) {
    const {name, rows} = exporter();
    const text = kind === "csv" ? toCSV(rows) : JSON.stringify(rows, null, 2);
    const blob = new Blob([text], {type: kind === "csv" ? "text/csv" : "application/json"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `monitorx-${name}-${stamp()}.${kind}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
  // Alerts as export rows, next to metric rows (``kind`` tells them apart).
  const alertRows = (alerts) => alerts.map((a) => ({kind: "alert", ...a}));
  // Chart series as export rows: one row per point and series.
  function seriesRows(charts) {
    const rows = [];
    for (const [chart, traces] of Object.entries(charts)) {
      for (const t of traces) {
        if (t.mxExport === false) continue;
        t.x.forEach((x, i) => rows.push({kind: "point", chart, series: t.name, time: x, value: t.y[i]}));
      }
    }
    return rows;
  }

  // ---- charts (Plotly) ----
  // Plotly loads async, so a page fetches its data while the 4.5 MB library is parsed.
  const plotlyReady = new Promise((resolve) => {
    if (window.Plotly) resolve(); else document.getElementById("plotly-script").addEventListener("load", resolve);
  });
  async function plot(div, data, layout, config = {responsive: true, displaylogo: false}) {
    await plotlyReady;
    return Plotly.react(div, data, layout, config);
  }
  // Where a series has no data the line breaks: consecutive points farther apart
  // than GAP_FACTOR steps get a null between them (Plotly: connectgaps false), so an
  // outage shows as a gap, not as a line across it. The step is the bucket width, or
  // the median spacing of a series sparser than its buckets (one request a minute in
  // 30 s buckets is a line, not a row of dots; a few missing minutes are a gap).
  const GAP_FACTOR = 1.5;
  // Spacings a median needs before it says more than the bucket width does.
  const GAP_MIN_SPACINGS = 3;
  function withGaps(x, y, interval) {
    const times = x.map((t) => Date.parse(t));
    const spacings = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
    const median = spacings.length >= GAP_MIN_SPACINGS ? spacings[Math.floor((spacings.length - 1) / 2)] : 0;
    const step = Math.max(interval * 1000, median);
    const gx = [], gy = [];
    times.forEach((t, i) => {
      if (i > 0 && t - times[i - 1] > GAP_FACTOR * step) {
        gx.push(new Date(times[i - 1] + step).toISOString()); // the first missing step
        gy.push(null);
      }
      gx.push(x[i]);
      gy.push(y[i]);
    });
    return {x: gx, y: gy};
  }
  // Points with no neighbour to draw a line to (a lone point between gaps).
  const lonePoints = (y) => y.map((v, i) => v !== null && (i === 0 || y[i - 1] === null) && (i === y.length - 1 || y[i + 1] === null));

  const THEME = {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#cbd5e1", size: 11},
    margin: {l: 48, r: 12, t: 28, b: 36}, xaxis: {gridcolor: "#1e293b", type: "date"},
    yaxis: {gridcolor: "#1e293b", rangemode: "tozero"}, legend: {orientation: "h", y: -0.2},
    hovermode: "x unified",
  };
  // A time-series chart over the page's range (or ``span``), with an optional dashed
  // threshold line (a number, or {value, source} from /models/{id}/thresholds) and a
  // "no data" note when every series is empty. With ``interval`` (the bucket width in
  // seconds) the lines break where buckets have no data.
  function chart(div, title, traces, {threshold = null, unit = "", annotations = [], span = range(), interval = null} = {}) {
    const source = threshold && typeof threshold === "object" ? threshold.source : null;
    if (threshold && typeof threshold === "object") threshold = threshold.value;
    const shapes = threshold === null || threshold === undefined ? [] : [{
      type: "line", xref: "paper", x0: 0, x1: 1, y0: threshold, y1: threshold,
      line: {color: "#f43f5e", dash: "dash", width: 1.5},
    }];
    const notes = threshold === null || threshold === undefined ? [] : [{
      xref: "paper", x: 1, y: threshold, xanchor: "right", yanchor: "bottom", showarrow: false,
      text: `threshold ${threshold}${unit ? " " + unit : ""}${source && source !== "model" ? " (" + source + ")" : ""}`, font: {color: "#f43f5e", size: 10},
    }];
    const empty = traces.every((t) => !t.x.length) ? [{xref: "paper", yref: "paper", x: 0.5, y: 0.5,
      showarrow: false, text: "no data in this range", font: {color: "#64748b", size: 13}}] : [];
    const layout = {...THEME, title: {text: title, font: {size: 13}, x: 0.01}, shapes,
      annotations: [...notes, ...empty, ...annotations],
      xaxis: {...THEME.xaxis, range: [span.start.toISOString(), span.end.toISOString()]},
      yaxis: {...THEME.yaxis, title: unit ? {text: unit} : undefined}};
    const lines = traces.map((t) => {
      const points = interval ? withGaps(t.x, t.y, interval) : {x: t.x, y: t.y};
      const line = {type: "scatter", connectgaps: false, mode: "lines", ...t, ...points};
      if (t.x.length < 3) return {...line, mode: "lines+markers"};
      // A lone point has no line to show it: it gets a marker, the others none.
      const lone = lonePoints(points.y);
      if (!lone.some(Boolean)) return line;
      return {...line, mode: "lines+markers", marker: {...(t.marker || {}), size: lone.map((l) => (l ? 6 : 0))}};
    });
    return plot(div, lines, layout);
  }
  // A sparkline as plain SVG polylines: a table of 20 models draws 40 of them, and a
  // Plotly chart each would cost more than the rest of the page. With ``interval`` it
  // breaks where buckets have no data, as the charts do (a lone point is a dot).
  function sparkline(div, x, y, color, interval = null) {
    const width = 140, height = 34, times = x.map((t) => Date.parse(t));
    const t0 = Math.min(...times), t1 = Math.max(...times), peak = Math.max(...y, 0);
    const top = peak * 1.15 || 1; // headroom, so a steady series does not hug the border
    const px = (t) => t1 === t0 ? width / 2 : ((t - t0) / (t1 - t0)) * (width - 2) + 1;
    const py = (v) => height - 2 - (v / top) * (height - 4);
    const points = interval ? withGaps(x, y, interval) : {x, y};
    const runs = [[]];
    points.y.forEach((v, i) => {
      if (v === null) runs.push([]); else runs[runs.length - 1].push([px(Date.parse(points.x[i])), py(v)]);
    });
    const shapes = runs.filter((run) => run.length).map((run) => run.length === 1
      ? `<circle cx="${run[0][0].toFixed(1)}" cy="${run[0][1].toFixed(1)}" r="1.5" fill="${color}"/>`
      : `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${run.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>`);
    const last = y.length ? y[y.length - 1] : null;
    div.innerHTML = `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">` +
      `<title>${y.length ? "last " + Number(last).toPrecision(3) + ", max " + Number(peak).toPrecision(3) : "no data"}</title>` +
      shapes.join("") + "</svg>";
    div.dataset.points = String(y.length);
    div.dataset.segments = String(shapes.length);
  }

  // ---- small DOM helpers ----
  // Shapes every font has (emoji would need a colour font the server may lack).
  const SEVERITY_ICON = {low: "○", medium: "◆", high: "▲", critical: "■"};
  const SEVERITY_RANK = {low: 1, medium: 2, high: 3, critical: 4};
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }
  const severityBadge = (s) => el("span", {class: "sev " + s, title: s}, `${SEVERITY_ICON[s] || ""} ${s}`);
  // A model's status: the highest severity among its active (unresolved) alerts, or
  // "healthy" with none.
  function modelStatus(alerts) {
    const worst = Math.max(0, ...alerts.filter((a) => !a.resolved).map((a) => SEVERITY_RANK[a.severity] || 0));
    return Object.keys(SEVERITY_RANK).find((s) => SEVERITY_RANK[s] === worst) || "healthy";
  }
  // The status as a badge: a severity in the alerts table's words and colours.
  const statusBadge = (s) => SEVERITY_RANK[s] ? severityBadge(s) : el("span", {class: "status " + s, title: s}, s);
  const fmt = (v, digits = 1) => v === null || v === undefined ? "—" : Number(v).toFixed(digits);
  const pct = (v) => v === null || v === undefined ? "—" : (100 * v).toFixed(2) + "%";
  const when = (t) => t ? new Date(t).toLocaleString() : "—";
  // A range as words for labels: "1 h", "7 d", or the custom range's length.
  const RANGE_WORDS = {"15m": "15 min", "1h": "1 h", "6h": "6 h", "24h": "24 h", "7d": "7 d"};
  function rangeLabel(r = range()) {
    if (RANGE_WORDS[r.key]) return RANGE_WORDS[r.key];
    const s = r.seconds;
    const [value, unit] = s < 5400 ? [s / 60, "min"] : s < 172800 ? [s / 3600, "h"] : [s / 86400, "d"];
    return `${Number(value.toFixed(1))} ${unit}`;
  }
  function toast(text) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.className = "show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.className = ""; }, 5000);
  }
  // Sortable table: click a header with data-key to sort by it; numbers numerically.
  function sortable(table, rowsOf, render) {
    const state = {key: null, dir: 1};
    table.querySelectorAll("th[data-key]").forEach((th) => {
      th.classList.add("sortable");
      th.addEventListener("click", () => {
        state.dir = state.key === th.dataset.key ? -state.dir : 1;
        state.key = th.dataset.key;
        table.querySelectorAll("th").forEach((h) => h.classList.remove("sorted-asc", "sorted-desc"));
        th.classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc");
        render();
      });
    });
    return (rows) => {
      if (!state.key) return rows;
      return [...rows].sort((a, b) => {
        const x = a[state.key], y = b[state.key];
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * state.dir;
      });
    };
  }

  async function signOut() {
    const c = credential();
    sessionStorage.removeItem(CREDENTIAL);
    if (c && c.kind === "user" && c.refresh) {
      // The refresh token and its whole family stop working.
      const headers = {"Content-Type": "application/json"};
      if (c.project) headers["X-MonitorX-Project"] = c.project;
      await fetch(API + "/auth/revoke", {
        method: "POST", headers, body: JSON.stringify({refresh_token: c.refresh}),
      }).catch(() => null);
    }
    location.href = "/login";
  }
  // The header names the project and the role the credential acts with.
  async function showWhoAmI() {
    const box = document.getElementById("whoami");
    try {
      const me = await get("/auth/me");
      box.textContent = `${me.project} · ${me.role}`;
      box.title = me.name;
      box.dataset.role = me.role;
      box.hidden = false;
      if (!credential()) offerProjects(box, me.project);
    } catch { box.hidden = true; }
  }
  // With auth off (no credential), the header switches the tab between projects.
  function offerProjects(box, current) {
    const form = document.getElementById("project-switch");
    const input = document.getElementById("project-name");
    form.hidden = false;
    input.value = current;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (name) sessionStorage.setItem(PROJECT, name); else sessionStorage.removeItem(PROJECT);
      location.reload();
    });
    box.hidden = true;
  }

  function start() {
    document.querySelectorAll("nav a").forEach((a) => {
      if (a.dataset.nav === document.body.dataset.page) a.classList.add("active");
    });
    const logout = document.getElementById("logout");
    if (credential()) {
      logout.hidden = false;
      logout.addEventListener("click", signOut);
    }
    showWhoAmI();
    document.getElementById("export-csv").addEventListener("click", () => download("csv"));
    document.getElementById("export-json").addEventListener("click", () => download("json"));
    initRange();
    initRefresh();
  }

  return {
    API, CREDENTIAL, params, get, post, request, keepTokens, credential, save, query, range, rangeLabel, intervalFor, aggregate, aggregates, setParams,
    metricQuery, groupName, exploreLink,
    onRefresh, refreshNow, live, liveRedraw, setExport, seriesRows, alertRows, toCSV, plot, chart, withGaps, sparkline, el, severityBadge,
    statusBadge, modelStatus, THEME, fmt, pct, when, toast, sortable, start, timer, SEVERITY_RANK,
  };
})();

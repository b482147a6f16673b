// The overview: every model's status, volume, p95 latency, error rate and
// throughput trends, and the alerts that are active now.
"use strict";

const {el, fmt, pct} = MX;
// Sorting by status: healthy first, then by the worst active alert's severity.
const STATUS_RANK = {healthy: 0, ...MX.SEVERITY_RANK};
let models = [];
let active = [];
const table = document.getElementById("models");
const sorted = MX.sortable(table, null, render);

function render() {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  if (!models.length) {
    body.append(el("tr", {}, el("td", {class: "empty", colspan: 8}, "No models yet: send a metric or run `monitorx demo`.")));
    return;
  }
  for (const m of sorted(models)) {
    const errorSpark = el("div", {class: "spark", "data-spark": "error_rate"});
    const throughputSpark = el("div", {class: "spark", "data-spark": "throughput"});
    const row = el("tr", {class: "clickable", "data-model": m.model_id, onclick: () => { location.href = "/models/" + encodeURIComponent(m.model_id) + location.search; }},
      el("td", {}, el("a", {href: "/models/" + encodeURIComponent(m.model_id)}, m.model_id)),
      el("td", {}, MX.statusBadge(m.status)),
      el("td", {class: "num", "data-field": "count"}, String(m.count)),
      el("td", {class: "num"}, fmt(m.p95)),
      el("td", {class: "num"}, pct(m.error_rate)),
      el("td", {class: "hide-narrow"}, errorSpark),
      el("td", {class: "hide-narrow"}, throughputSpark),
      el("td", {class: "num"}, String(m.active_alerts)));
    body.append(row);
    if (m.errorSeries) MX.sparkline(errorSpark, m.errorSeries.x, m.errorSeries.y, "#f43f5e", m.interval);
    if (m.throughputSeries) MX.sparkline(throughputSpark, m.throughputSeries.x, m.throughputSeries.y, "#38bdf8", m.interval);
  }
}

function renderAlerts() {
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  if (!active.length) { body.append(el("tr", {}, el("td", {class: "empty", colspan: 6}, "No active alerts."))); return; }
  for (const a of active) {
    body.append(el("tr", {class: "sev-row " + a.severity},
      el("td", {}, MX.when(a.timestamp)), el("td", {}, el("a", {href: "/models/" + encodeURIComponent(a.model_id)}, a.model_id)),
      el("td", {}, a.alert_type), el("td", {}, MX.severityBadge(a.severity)), el("td", {}, a.status), el("td", {class: "message"}, a.message)));
  }
}

async function refresh() {
  const r = MX.range();
  document.getElementById("window-label").textContent = `— last ${r.key === "custom" ? Math.round(r.seconds) + " s" : r.key}`;
  const [summary, alerts] = await Promise.all([
    MX.get("/summary?window=" + Math.round(r.seconds)),
    MX.get("/alerts?limit=1000").then((list) => list.filter((a) => !a.resolved)),
  ]);
  active = alerts;
  const next = summary.models.map((m) => {
    const own = alerts.filter((a) => a.model_id === m.model_id);
    const status = MX.modelStatus(own);
    return {model_id: m.model_id, count: m.count, p95: m.latency.p95, error_rate: m.error_rate,
      active_alerts: m.active_alerts, status, status_rank: STATUS_RANK[status]};
  });
  // Trends: two requests for every model's series, at the range's bucket width.
  const ids = next.map((m) => m.model_id);
  const [errors, counts] = await Promise.all([
    MX.aggregates(ids, "error_rate", "mean", r), MX.aggregates(ids, "latency", "count", r)]);
  for (const m of next) {
    const count = counts.series[m.model_id];
    m.errorSeries = errors.series[m.model_id];
    m.throughputSeries = count && {x: count.x, y: count.y.map((c) => c / counts.interval)};
    m.interval = counts.interval;
  }
  models = next;
  render();
  renderAlerts();
}

MX.setExport(() => ({name: "overview",
  rows: [...models.map(({errorSeries, throughputSeries, interval, ...m}) => ({kind: "model", ...m})), ...MX.alertRows(active)]}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow();
// Live: request counts grow as batches are accepted; alert changes refresh the view.
MX.live(null, (message) => {
  if (message.type === "metrics") {
    const model = models.find((m) => m.model_id === message.model_id);
    if (!model) { MX.refreshNow(); return; }
    model.count += message.count;
    const cell = table.querySelector(`tr[data-model="${CSS.escape(message.model_id)}"] td[data-field="count"]`);
    if (cell) cell.textContent = String(model.count);
  } else if (message.type === "alert") {
    MX.refreshNow();
  }
});

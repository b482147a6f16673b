// One model: latency percentiles, throughput, error rate and resources over time
// with threshold lines, the latency distribution, its alerts and drift results;
// for an LLM, time to first token, tokens and cost per bucket.
"use strict";

const {el, fmt, pct} = MX;
const modelId = document.body.dataset.subject;
const q = encodeURIComponent(modelId);
// Raw latencies for the histogram: a bounded recent sample, not the whole range.
const HISTOGRAM_SAMPLE = 2000;
const RESOURCES = [
  ["gpu_memory_mb", "GPU memory", "MB", "gpu_memory_mb"],
  ["gpu_utilization", "GPU utilization", "%", null],
  ["cpu_percent", "CPU", "%", "cpu_percent"],
  ["memory_mb", "Memory", "MB", "memory_mb"],
];
// The LLM series (API.md's `llm` object): [metric, aggregation] per trace.
const LLM_SERIES = [
  ["time_to_first_token_ms", "p50"], ["time_to_first_token_ms", "p95"],
  ["prompt_tokens", "sum"], ["completion_tokens", "sum"], ["cost_usd", "sum"],
];
let charts = {};
let alerts = [];
// Quality windows: about 24 over the range, an hour at least.
const qualityInterval = (r) => Math.max(3600, Math.round(r.seconds / 24));
let config = null;

function tile(label, value, id) {
  return el("div", {class: "tile", id}, el("b", {}, value), el("span", {}, label));
}

// The thresholds the model is checked against: its own, its profile's or learned
// (GET /models/{id}/thresholds), as {field: {value, source}} with a value.
async function loadConfig() {
  // From the list, not /models/{id}: an unregistered model is normal, not a 404.
  config = (await MX.get("/models")).find((m) => m.id === modelId) || null;
  const effective = await MX.get(`/models/${q}/thresholds`);
  document.getElementById("model-meta").textContent = config
    ? `${config.model_type} · v${config.version} · ${config.environment}` : "not registered: no thresholds";
  const t = {};
  for (const [field, e] of Object.entries(effective)) {
    if (e && e.value !== null && e.value !== undefined) t[field] = {value: e.value, source: e.source};
  }
  return t;
}

async function refresh() {
  const r = MX.range();
  const thresholds = await loadConfig();
  const [summary, latency, counts, errors, resources, sample, modelAlerts, drift, quality, llm] = await Promise.all([
    MX.get(`/models/${q}/summary?window=${Math.round(r.seconds)}`).catch(() => null),
    Promise.all(["p50", "p95", "p99"].map((agg) => MX.aggregate(modelId, "latency", agg, r))),
    MX.aggregate(modelId, "latency", "count", r),
    MX.aggregate(modelId, "error_rate", "mean", r),
    Promise.all(RESOURCES.map(([metric]) => MX.aggregate(modelId, metric, "mean", r))),
    MX.get("/metrics/inference?" + MX.query({model_id: modelId, start: r.start.toISOString(), end: r.end.toISOString(), limit: HISTOGRAM_SAMPLE})),
    MX.get(`/alerts?model_id=${q}&limit=200`),
    MX.get(`/metrics/drift?model_id=${q}&limit=100&start=${encodeURIComponent(r.start.toISOString())}`),
    // Quality from labels in about 24 windows over the range (each window costs a
    // scikit-learn pass over its labelled records).
    MX.get(`/models/${q}/quality?` + MX.query({start: r.start.toISOString(), end: r.end.toISOString(),
      interval: qualityInterval(r)})),
    Promise.all(LLM_SERIES.map(([metric, agg]) => MX.aggregate(modelId, metric, agg, r))),
  ]);
  alerts = modelAlerts;
  document.getElementById("model-title").textContent = modelId;
  document.getElementById("model-status").replaceChildren(MX.statusBadge(MX.modelStatus(alerts.filter((a) => !a.resolved))));
  document.getElementById("compare-link").href = "/compare?models=" + q;
  const s = summary || {count: 0, latency: {}, error_rate: null, throughput: 0};
  document.getElementById("tiles").replaceChildren(
    tile("requests", String(s.count), "tile-count"), tile("p50 ms", fmt(s.latency.p50)), tile("p95 ms", fmt(s.latency.p95)),
    tile("p99 ms", fmt(s.latency.p99)), tile("error rate", pct(s.error_rate)),
    // The summary's rate is the range's average; the chart beside it is per bucket.
    tile(`req/s, avg over ${MX.rangeLabel(r)}`, fmt(s.throughput, 2), "tile-throughput"));

  charts = {
    latency: ["p50", "p95", "p99"].map((agg, i) => ({name: agg, x: latency[i].x, y: latency[i].y})),
    throughput: [{name: "req/s", x: counts.x, y: counts.y.map((c) => c / counts.interval)}],
    error_rate: [{name: "error rate", x: errors.x, y: errors.y}],
  };
  const drawn = [
    MX.chart("chart-latency", "Latency (ms)", charts.latency, {threshold: thresholds.latency_ms, unit: "ms", span: r, interval: latency[0].interval}),
    MX.chart("chart-throughput", `Throughput (req/s in each ${counts.interval} s bucket)`, charts.throughput, {span: r, interval: counts.interval}),
    MX.chart("chart-error_rate", "Error rate", charts.error_rate, {threshold: thresholds.error_rate, span: r, interval: errors.interval}),
  ];
  RESOURCES.forEach(([metric, title, unit, limit], i) => {
    charts[metric] = [{name: title, x: resources[i].x, y: resources[i].y}];
    drawn.push(MX.chart("chart-" + metric, `${title} (${unit})`, charts[metric],
      {threshold: limit ? thresholds[limit] : null, unit, span: r, interval: resources[i].interval}));
  });
  const values = sample.map((m) => m.latency);
  drawn.push(MX.plot("chart-histogram", [{type: "histogram", x: values, name: "latency", marker: {color: "#818cf8"}}],
    {...MX.THEME, xaxis: {gridcolor: "#1e293b"}, hovermode: "closest", title: {text: `Latency distribution (last ${values.length} requests, ms)`, font: {size: 13}, x: 0.01},
     shapes: thresholds.latency_ms ? [{type: "line", yref: "paper", y0: 0, y1: 1, x0: thresholds.latency_ms.value, x1: thresholds.latency_ms.value, line: {color: "#f43f5e", dash: "dash"}}] : []},
  ));
  const names = [...new Set(quality.windows.flatMap((w) => Object.keys(w.metrics)))].sort();
  charts.quality = names.map((name) => {
    const windows = quality.windows.filter((w) => w.metrics[name] !== null && w.metrics[name] !== undefined);
    return {name, x: windows.map((w) => w.time), y: windows.map((w) => w.metrics[name])};
  });
  drawn.push(MX.chart("chart-quality", `Model quality from labels${quality.task ? " (" + quality.task + ")" : ""}`,
    charts.quality, {span: r, interval: qualityInterval(r)}));
  // Drift confidence per feature (or per drift type when a result names no feature).
  const byFeature = {};
  for (const d of [...drift].reverse()) {
    const name = d.feature || d.drift_type;
    (byFeature[name] ||= {name, x: [], y: []}).x.push(d.timestamp);
    byFeature[name].y.push(d.confidence);
  }
  charts.drift = Object.values(byFeature).sort((a, b) => a.name.localeCompare(b.name));
  drawn.push(MX.chart("chart-drift", "Drift confidence per feature", charts.drift,
    {threshold: thresholds.drift_confidence, span: r}));
  drawn.push(...drawLlm(llm, r));
  renderAlerts();
  renderDrift(drift);
  await Promise.all(drawn);
}

// Shown for an LLM, or for any model whose metrics carry LLM fields in the range.
function drawLlm(llm, r) {
  const [ttft50, ttft95, prompt, completion, cost] = llm;
  const shown = (config && config.model_type === "llm") || llm.some((s) => s.x.length > 0);
  document.getElementById("llm-charts").hidden = !shown;
  if (!shown) { delete charts.ttft; delete charts.tokens; delete charts.cost; return []; }
  charts.ttft = [{name: "p50", x: ttft50.x, y: ttft50.y}, {name: "p95", x: ttft95.x, y: ttft95.y}];
  charts.tokens = [{name: "prompt", x: prompt.x, y: prompt.y}, {name: "completion", x: completion.x, y: completion.y}];
  charts.cost = [{name: "cost", x: cost.x, y: cost.y}];
  const total = cost.y.reduce((sum, v) => sum + v, 0);
  return [
    MX.chart("chart-ttft", "Time to first token (ms)", charts.ttft, {unit: "ms", span: r, interval: ttft50.interval}),
    MX.chart("chart-tokens", `Tokens per ${prompt.interval} s`, charts.tokens, {span: r, interval: prompt.interval}),
    MX.chart("chart-cost", `Cost (USD per ${cost.interval} s; ${fmt(total, 4)} in range)`, charts.cost, {span: r, interval: cost.interval}),
  ];
}

function renderAlerts() {
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  if (!alerts.length) { body.append(el("tr", {}, el("td", {class: "empty", colspan: 7}, "No alerts for this model."))); return; }
  for (const a of alerts) {
    body.append(el("tr", {}, el("td", {}, MX.when(a.timestamp)), el("td", {}, a.alert_type), el("td", {}, MX.severityBadge(a.severity)),
      el("td", {}, a.status + (a.acknowledged ? " (ack)" : "")), el("td", {class: "num"}, fmt(a.value, 3)),
      el("td", {class: "num"}, fmt(a.threshold, 3)), el("td", {class: "message"}, a.message)));
  }
}

function renderDrift(rows) {
  const body = document.querySelector("#drift tbody");
  body.replaceChildren();
  if (!rows.length) { body.append(el("tr", {}, el("td", {class: "empty", colspan: 6}, "No drift results in this range."))); return; }
  for (const d of rows) {
    body.append(el("tr", {}, el("td", {}, MX.when(d.timestamp)), el("td", {}, d.drift_type), el("td", {}, d.feature || "—"),
      el("td", {class: "num"}, fmt(d.score, 3)), el("td", {class: "num"}, fmt(d.confidence, 3)), el("td", {}, MX.severityBadge(d.severity))));
  }
}

document.getElementById("drift-report").addEventListener("click", () => {
  const r = MX.range();
  MX.save(`/models/${q}/drift/report.html?` + MX.query({start: r.start.toISOString(), end: r.end.toISOString()}),
    `drift-${modelId}.html`).catch((error) => MX.toast(error.message));
});

MX.setExport(() => ({name: modelId + "-metrics", rows: [...MX.seriesRows(charts), ...MX.alertRows(alerts)]}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow();
// Live: a batch for this model or a change to one of its alerts redraws the page,
// so the charts move without a reload.
MX.liveRedraw([modelId]);

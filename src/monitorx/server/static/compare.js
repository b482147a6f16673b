// Two or more models on the same charts: one line per model.
"use strict";

const {el} = MX;
const PANELS = [
  ["chart-p95", "p95 latency (ms)", "latency", "p95", "ms"],
  ["chart-throughput", "Throughput (req/s)", "latency", "count", "req/s"],
  ["chart-error_rate", "Error rate", "error_rate", "mean", ""],
  ["chart-cpu", "CPU (%)", "cpu_percent", "mean", "%"],
];
let chosen = (MX.params.get("models") || "").split(",").filter(Boolean);
let charts = {};

async function renderPicker() {
  const known = (await MX.get("/summary?window=" + Math.round(MX.range().seconds))).models.map((m) => m.model_id);
  const registered = (await MX.get("/models")).map((m) => m.id);
  const all = [...new Set([...known, ...registered])].sort();
  if (!chosen.length) chosen = all.slice(0, 2);
  const pick = document.getElementById("pick");
  pick.replaceChildren(...all.map((id) => el("label", {}, el("input", {type: "checkbox", value: id, checked: chosen.includes(id) ? "" : null,
    onchange: (event) => {
      chosen = event.target.checked ? [...chosen, id] : chosen.filter((m) => m !== id);
      MX.setParams({models: chosen.join(",") || null});
      MX.refreshNow();
    }}), " " + id)));
  if (!all.length) pick.append(el("span", {class: "empty"}, "No models yet."));
}

async function refresh() {
  await renderPicker();
  const r = MX.range();
  charts = {};
  await Promise.all(PANELS.map(async ([div, title, metric, agg, unit]) => {
    const {interval, series} = await MX.aggregates(chosen, metric, agg, r);
    charts[title] = chosen.map((id) => ({name: id, x: series[id].x, y: agg === "count" ? series[id].y.map((c) => c / interval) : series[id].y}));
    await MX.chart(div, title, charts[title], {unit, span: r, interval});
  }));
}

MX.setExport(() => ({name: "compare", rows: MX.seriesRows(charts)}));
MX.onRefresh(refresh);
MX.start();
// Live: the chosen models' batches redraw the charts (every model when none is chosen
// on the URL: the picker's default may change as models appear).
MX.refreshNow();
MX.liveRedraw(chosen.length ? chosen : null);

// One saved dashboard: each panel is one chart, one line per model.
"use strict";

const {el} = MX;
const dashboardId = document.body.dataset.subject;
let charts = {};
let liveModels = [];

async function refresh() {
  const d = await MX.get("/dashboards/" + encodeURIComponent(dashboardId));
  liveModels = [...new Set(d.panels.flatMap((p) => p.models))];
  document.getElementById("dashboard-title").textContent = d.title;
  document.getElementById("edit-link").href = "/dashboards?edit=" + encodeURIComponent(d.id);
  const grid = document.getElementById("panels");
  if (grid.children.length !== d.panels.length) {
    grid.replaceChildren(...d.panels.map((_, i) => el("section", {}, el("div", {class: "chart", id: "panel-" + i}))));
  }
  charts = {};
  // The page follows the dashboard's own range unless the URL names one.
  const linked = MX.params.has("range") || MX.params.has("start");
  if (!linked) document.getElementById("range").value = d.range;
  const pageRange = linked ? MX.range() : MX.range.forKey(d.range);
  await Promise.all(d.panels.map(async (p, i) => {
    const r = p.range ? MX.range.forKey(p.range) : pageRange;
    const {interval, series} = await MX.aggregates(p.models, p.metric, p.agg, r);
    charts[p.title] = p.models.map((m) => ({name: m, x: series[m].x, y: series[m].y}));
    await MX.chart("panel-" + i, `${p.title}${p.range ? " · " + p.range : ""}`, charts[p.title], {span: r, interval});
  }));
}

MX.setExport(() => ({name: "dashboard-" + dashboardId, rows: MX.seriesRows(charts)}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow().then(() => MX.liveRedraw(liveModels.length ? liveModels : null));

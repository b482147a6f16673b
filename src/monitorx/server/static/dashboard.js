// One saved dashboard: each panel is one chart — one line per model for a models
// panel, one line per group for a query panel (any metric by labels).
"use strict";

const {el} = MX;
const dashboardId = document.body.dataset.subject;
let charts = {};
let liveModels = [];

// A query panel's lines; an error (its metric has no data yet, say) is written on
// the chart instead of failing the whole dashboard.
async function drawQuery(p, i, r, title) {
  try {
    const {interval, traces} = await MX.metricQuery(p.query, r);
    charts[p.title] = traces;
    await MX.chart("panel-" + i, title, traces, {span: r, interval});
  } catch (error) {
    charts[p.title] = [];
    await MX.chart("panel-" + i, title, [], {span: r, annotations: [{xref: "paper", yref: "paper", x: 0.5, y: 0.35,
      showarrow: false, text: error.message, font: {color: "#f43f5e", size: 11}}]});
  }
}

async function refresh() {
  const d = await MX.get("/dashboards/" + encodeURIComponent(dashboardId));
  liveModels = [...new Set(d.panels.flatMap((p) => p.models || []))];
  document.getElementById("dashboard-title").textContent = d.title;
  document.getElementById("edit-link").href = "/dashboards?edit=" + encodeURIComponent(d.id);
  const grid = document.getElementById("panels");
  if (grid.children.length !== d.panels.length) {
    grid.replaceChildren(...d.panels.map((p, i) => el("section", {class: "panel"},
      p.query ? el("a", {class: "panel-explore", href: MX.exploreLink(p.query, p.range || d.range)}, "open in Explore") : null,
      el("div", {class: "chart", id: "panel-" + i}))));
  }
  charts = {};
  // The page follows the dashboard's own range unless the URL names one.
  const linked = MX.params.has("range") || MX.params.has("start");
  if (!linked) document.getElementById("range").value = d.range;
  const pageRange = linked ? MX.range() : MX.range.forKey(d.range);
  await Promise.all(d.panels.map(async (p, i) => {
    const r = p.range ? MX.range.forKey(p.range) : pageRange;
    const title = `${p.title}${p.range ? " · " + p.range : ""}`;
    if (p.query) { await drawQuery(p, i, r, title); return; }
    const {interval, series} = await MX.aggregates(p.models, p.metric, p.agg, r);
    charts[p.title] = p.models.map((m) => ({name: m, x: series[m].x, y: series[m].y}));
    await MX.chart("panel-" + i, title, charts[p.title], {span: r, interval});
  }));
}

MX.setExport(() => ({name: "dashboard-" + dashboardId, rows: MX.seriesRows(charts)}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow().then(() => MX.liveRedraw(liveModels.length ? liveModels : null));

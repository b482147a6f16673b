// Explore: any metric, inference or custom, by its labels. Pick a metric from
// /metrics/names, filter on label values, group by label keys, choose an aggregation;
// the header's range sets the bucket width. One line per group, from
// GET /metrics/query. What is shown lives on the URL (?metric=&agg=&label=&group_by=
// beside the range), so a chart is a link; "Save panel" adds it as a query panel to
// a custom dashboard.
"use strict";

const {el} = MX;
const AGGS = ["count", "sum", "mean", "min", "max", "p50", "p90", "p95", "p99", "last", "rate"];
// More lines than this make a legend nobody can read: the first (by labels) are drawn.
const MAX_LINES = 50;
const NEW_DASHBOARD = "";
let names = [];
let dashboards = [];
let charts = {};
let filterCount = 0; // ids for the filters' value suggestions

// ---- the page's state: the URL's parameters ----
const state = {
  metric: MX.params.get("metric"),
  agg: MX.params.get("agg") || "mean",
  filters: MX.params.getAll("label").map(parseMatcher),
  groupBy: (MX.params.get("group_by") || "").split(",").map((k) => k.trim()).filter(Boolean),
};

// "key:value" → {key, op: "=", value}; "key!:value" → op "!=".
function parseMatcher(text) {
  const at = text.indexOf(":");
  const raw = at < 0 ? text : text.slice(0, at);
  const negated = raw.endsWith("!");
  return {key: negated ? raw.slice(0, -1) : raw, op: negated ? "!=" : "=", value: at < 0 ? "" : text.slice(at + 1)};
}
const matcher = (f) => `${f.key}${f.op === "!=" ? "!" : ""}:${f.value}`;
// A filter applies once it has a label and a value.
const currentQuery = () => ({
  metric: state.metric, agg: state.agg, labels: state.filters.filter((f) => f.key && f.value).map(matcher), group_by: state.groupBy,
});

function writeUrl() {
  const q = currentQuery();
  for (const k of ["metric", "agg", "label", "group_by"]) MX.params.delete(k);
  MX.params.set("metric", q.metric);
  MX.params.set("agg", q.agg);
  q.labels.forEach((m) => MX.params.append("label", m));
  if (q.group_by.length) MX.params.set("group_by", q.group_by.join(","));
  history.replaceState(null, "", location.pathname + "?" + MX.params);
}

function changed() {
  writeUrl();
  MX.refreshNow();
}

// ---- the controls ----
const info = () => names.find((n) => n.name === state.metric) || {name: state.metric, kind: "unknown", unit: null, labels: []};
// The metric's label keys, and any the URL names that it has not reported lately.
const labelKeys = () => [...new Set([...info().labels, ...state.groupBy, ...state.filters.map((f) => f.key).filter(Boolean)])];
const options = (values, chosen, label = (v) => v) =>
  values.map((v) => el("option", {value: v, selected: chosen.includes(v) ? "" : null}, label(v)));

function renderMetricPicker() {
  const select = document.getElementById("x-metric");
  const unit = (n) => n.name + (n.unit ? ` (${n.unit})` : "");
  const group = (kind, title) => {
    const found = names.filter((n) => n.kind === kind);
    return found.length ? el("optgroup", {label: title}, ...found.map((n) => el("option", {value: n.name}, unit(n)))) : null;
  };
  const known = names.some((n) => n.name === state.metric);
  select.replaceChildren(...[group("custom", "Custom metrics"), group("inference", "Inference metrics"),
    known ? null : el("option", {value: state.metric}, state.metric)].filter(Boolean));
  select.value = state.metric;
  const m = info();
  document.getElementById("x-metric-info").textContent =
    `${m.kind}${m.unit ? " · " + m.unit : ""} · labels: ${m.labels.length ? m.labels.join(", ") : "none seen in 7 days"}`;
  const agg = document.getElementById("x-agg");
  agg.replaceChildren(...options(AGGS.includes(state.agg) ? AGGS : [...AGGS, state.agg], [state.agg]));
  document.getElementById("x-group").replaceChildren(...options(labelKeys(), state.groupBy));
}

// Values a label takes in the range: one count per value, over the whole range.
async function suggestValues(list, key) {
  const r = MX.range();
  const answer = await MX.get("/metrics/query?" + MX.query({metric: state.metric, agg: "count", group_by: key,
    interval: Math.ceil(r.seconds), start: r.start.toISOString(), end: r.end.toISOString()})).catch(() => ({series: []}));
  list.replaceChildren(...answer.series.map((s) => el("option", {value: s.labels[key]})));
}

function renderFilters() {
  const keys = labelKeys();
  document.getElementById("x-filters").replaceChildren(...state.filters.map((f, i) => {
    const id = "x-values-" + filterCount++;
    const list = el("datalist", {id});
    if (f.key) suggestValues(list, f.key);
    return el("div", {class: "filters filter"},
      el("select", {class: "f-key", "aria-label": "Label", onchange: (e) => { f.key = e.target.value; renderFilters(); changed(); }},
        el("option", {value: ""}, "label…"), ...options(keys, [f.key])),
      el("select", {class: "f-op", "aria-label": "Equals or not", onchange: (e) => { f.op = e.target.value; changed(); }},
        ...options(["=", "!="], [f.op])),
      el("input", {class: "f-value", "aria-label": "Value", list: id, value: f.value, placeholder: "value",
        onchange: (e) => { f.value = e.target.value; changed(); }}),
      list,
      el("button", {type: "button", class: "danger", onclick: () => { state.filters.splice(i, 1); renderFilters(); changed(); }}, "Remove"));
  }));
  document.getElementById("x-filters-hint").textContent = state.filters.length > 1 ? "every filter must hold" : "";
}

document.getElementById("x-metric").addEventListener("change", (e) => {
  state.metric = e.target.value;
  // Keys the new metric does not have would match nothing: the filters and groups go.
  const keys = info().labels;
  state.filters = state.filters.filter((f) => keys.includes(f.key));
  state.groupBy = state.groupBy.filter((k) => keys.includes(k));
  renderMetricPicker();
  renderFilters();
  changed();
});
document.getElementById("x-agg").addEventListener("change", (e) => { state.agg = e.target.value; changed(); });
document.getElementById("x-group").addEventListener("change", (e) => {
  state.groupBy = [...e.target.selectedOptions].map((o) => o.value);
  changed();
});
document.getElementById("x-add-filter").addEventListener("click", () => {
  state.filters.push({key: labelKeys()[0] || "", op: "=", value: ""});
  renderFilters();
});

// ---- the chart ----
function showError(id, error) {
  const box = document.getElementById(id);
  box.hidden = !error;
  box.textContent = error ? error.message : "";
}

const bucketWords = (s) => s < 120 ? `${s} s` : s < 7200 ? `${s / 60} min` : s < 172800 ? `${s / 3600} h` : `${s / 86400} d`;

function chartUnit(unit) {
  if (state.agg === "count") return "";
  return state.agg === "rate" ? (unit ? unit + "/s" : "per s") : unit || "";
}

async function refresh() {
  [names, dashboards] = await Promise.all([MX.get("/metrics/names"), MX.get("/dashboards")]);
  if (!state.metric) state.metric = (names.find((n) => n.kind === "custom") || names[0]).name;
  renderMetricPicker();
  if (!document.getElementById("x-filters").children.length && state.filters.length) renderFilters();
  renderSaveTargets();
  writeUrl();
  const r = MX.range();
  const q = currentQuery();
  let answer = {interval: MX.intervalFor(r.seconds), traces: []};
  try {
    answer = await MX.metricQuery(q, r);
    showError("x-error", null);
  } catch (error) {
    showError("x-error", error); // a 422 or 404 says what is wrong with the query
  }
  const traces = answer.traces.slice(0, MAX_LINES);
  document.getElementById("x-note").textContent = answer.traces.length > MAX_LINES
    ? `${answer.traces.length} groups: the first ${MAX_LINES} by labels are drawn; filter or group by fewer keys to see the others.` : "";
  const title = `${q.metric} · ${q.agg}${q.group_by.length ? " by " + q.group_by.join(", ") : ""} · ${bucketWords(answer.interval)} buckets`;
  charts = {[title]: traces};
  document.getElementById("x-chart").dataset.groups = String(answer.traces.length);
  await MX.chart("x-chart", title, traces, {unit: chartUnit(info().unit), span: r, interval: answer.interval});
}

// ---- save as a query panel of a custom dashboard ----
function renderSaveTargets(chosen = document.getElementById("s-dashboard").value) {
  const select = document.getElementById("s-dashboard");
  select.replaceChildren(el("option", {value: NEW_DASHBOARD}, "new dashboard…"),
    ...dashboards.map((d) => el("option", {value: d.id}, `${d.title} (${d.panels.length} panels)`)));
  select.value = dashboards.some((d) => d.id === chosen) ? chosen : NEW_DASHBOARD;
  document.getElementById("s-new").hidden = select.value !== NEW_DASHBOARD;
}
document.getElementById("s-dashboard").addEventListener("change", (e) => {
  document.getElementById("s-new").hidden = e.target.value !== NEW_DASHBOARD;
});

document.getElementById("s-save").addEventListener("click", async () => {
  const panel = {title: document.getElementById("s-title").value.trim() || null,
    range: document.getElementById("s-range").value || null, query: currentQuery()};
  const target = document.getElementById("s-dashboard").value;
  const result = document.getElementById("s-result");
  result.replaceChildren();
  try {
    let saved;
    if (target === NEW_DASHBOARD) {
      const id = document.getElementById("s-new-id").value.trim();
      const r = MX.range();
      saved = await MX.post("/dashboards", {id, title: document.getElementById("s-new-title").value.trim() || null,
        range: r.key === "custom" ? "1h" : r.key, panels: [panel]});
    } else {
      // The dashboard as stored now, plus this panel: another tab's edits are kept.
      const d = await MX.get("/dashboards/" + encodeURIComponent(target));
      saved = await MX.request("PUT", "/dashboards/" + encodeURIComponent(target), {...d, panels: [...d.panels, panel]});
    }
    showError("s-error", null);
    result.replaceChildren(`Added "${saved.panels[saved.panels.length - 1].title}" to `,
      el("a", {href: "/dashboards/" + encodeURIComponent(saved.id), id: "s-link"}, saved.title), ".");
    dashboards = await MX.get("/dashboards");
    renderSaveTargets(saved.id);
  } catch (error) {
    showError("s-error", error); // e.g. 409: that id is taken; 422: which field is wrong
  }
});

MX.setExport(() => ({name: "explore-" + state.metric, rows: MX.seriesRows(charts)}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow();

// Custom dashboards: the saved list, and an editor that composes panels of models
// and saves them through /api/v1/dashboards (query panels come from Explore and are
// kept as they are). ?edit=<id> opens one for editing.
"use strict";

const {el} = MX;
let saved = [];
let panels = [];
let editing = MX.params.get("edit");

// What a panel charts: its models, or its query's filters and groups (with a link
// that opens the query in Explore, where query panels are made).
function panelSubject(p) {
  if (!p.query) return p.models.join(", ");
  const q = p.query;
  const words = [q.labels.length ? q.labels.join(", ") : "all series", q.group_by.length ? "by " + q.group_by.join(", ") : null];
  return el("span", {}, words.filter(Boolean).join(" · ") + " ", el("a", {href: MX.exploreLink(q, p.range)}, "explore"));
}

function renderPanels() {
  const body = document.querySelector("#panels tbody");
  body.replaceChildren(...panels.map((p, i) => el("tr", {}, el("td", {}, p.title || `${p.metric} ${p.agg}`),
    el("td", {}, p.query ? p.query.metric : p.metric), el("td", {}, p.query ? p.query.agg : p.agg), el("td", {}, panelSubject(p)),
    el("td", {}, p.range || "page"),
    el("td", {}, el("button", {type: "button", class: "danger", onclick: () => { panels.splice(i, 1); renderPanels(); }}, "Remove")))));
  if (!panels.length) body.append(el("tr", {}, el("td", {class: "empty", colspan: 6}, "No panels yet.")));
}

async function refresh() {
  saved = await MX.get("/dashboards");
  const body = document.querySelector("#saved tbody");
  body.replaceChildren(...saved.map((d) => el("tr", {},
    el("td", {}, el("a", {href: "/dashboards/" + encodeURIComponent(d.id)}, d.title)), el("td", {}, String(d.panels.length)),
    el("td", {}, d.range), el("td", {}, el("a", {href: "/dashboards?edit=" + encodeURIComponent(d.id)}, "edit")))));
  if (!saved.length) body.append(el("tr", {}, el("td", {class: "empty", colspan: 4}, "None saved yet.")));
  const select = document.getElementById("p-models");
  const chosen = [...select.selectedOptions].map((o) => o.value);
  const ids = new Set([...(await MX.get("/models")).map((m) => m.id),
    ...(await MX.get("/summary?window=604800")).models.map((m) => m.model_id)]);
  select.replaceChildren(...[...ids].sort().map((id) => el("option", {value: id, selected: chosen.includes(id) ? "" : null}, id)));
}

async function loadForEdit() {
  if (!editing) return;
  const d = await MX.get("/dashboards/" + encodeURIComponent(editing));
  document.getElementById("editor-title").textContent = "Edit " + d.title;
  document.getElementById("d-id").value = d.id;
  document.getElementById("d-id").disabled = true;
  document.getElementById("d-title").value = d.title;
  document.getElementById("d-range").value = d.range;
  panels = d.panels;
  renderPanels();
}

document.getElementById("p-add").addEventListener("click", () => {
  const models = [...document.getElementById("p-models").selectedOptions].map((o) => o.value);
  if (!models.length) { MX.toast("Pick at least one model for the panel."); return; }
  const range = document.getElementById("p-range").value;
  panels.push({metric: document.getElementById("p-metric").value, agg: document.getElementById("p-agg").value, models,
    range: range || null, title: document.getElementById("p-title").value || null});
  renderPanels();
});

document.getElementById("d-save").addEventListener("click", async () => {
  const id = document.getElementById("d-id").value.trim();
  const body = {id, title: document.getElementById("d-title").value || id, range: document.getElementById("d-range").value, panels};
  try {
    await MX.request("PUT", "/dashboards/" + encodeURIComponent(id), body);
    const link = el("a", {href: "/dashboards/" + encodeURIComponent(id)}, location.origin + "/dashboards/" + id);
    document.getElementById("d-link").replaceChildren("Saved: ", link);
    await refresh();
  } catch (error) {
    MX.toast(error.message);
  }
});

MX.setExport(() => ({name: "dashboards", rows: saved}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow().then(loadForEdit).catch((error) => MX.toast(error.message));
renderPanels();

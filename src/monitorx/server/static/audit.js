// The audit log: who changed what and when, filtered by action and actor, over the
// page's time range. GET /api/v1/audit needs an admin; others see why it is empty.
"use strict";

const {el} = MX;
const FILTERS = {action: "f-action", actor: "f-actor"};
let entries = [];

for (const [name, id] of Object.entries(FILTERS)) {
  const input = document.getElementById(id);
  input.value = MX.params.get(name) || "";
  input.addEventListener("change", () => { MX.setParams({[name]: input.value.trim() || null}); MX.refreshNow(); });
}

function render(note) {
  const body = document.querySelector("#audit tbody");
  body.replaceChildren();
  if (note || !entries.length) {
    body.append(el("tr", {}, el("td", {class: "empty", colspan: 6}, note || "No entries match.")));
    return;
  }
  for (const e of entries) {
    body.append(el("tr", {"data-outcome": e.outcome},
      el("td", {}, MX.when(e.time)), el("td", {}, e.actor), el("td", {}, e.action),
      el("td", {class: "message"}, e.target), el("td", {}, e.source_ip), el("td", {}, e.outcome)));
  }
}

async function refresh() {
  const r = MX.range();
  const filters = {limit: 1000, start: r.start.toISOString(), end: r.end.toISOString()};
  for (const [name, id] of Object.entries(FILTERS)) filters[name] = document.getElementById(id).value.trim();
  try {
    entries = await MX.get("/audit?" + MX.query(filters));
    render();
  } catch (error) {
    entries = [];
    render(error.status === 403 ? "The audit log is for admins: sign in with an admin key." : error.message);
  }
}

MX.setExport(() => ({name: "audit", rows: entries}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow();

// Alerts: filter by status, severity, model and type; resolve, acknowledge and
// silence (for the model and alert type) from the page.
"use strict";

const {el, fmt} = MX;
const FILTERS = {status: "f-status", severity: "f-severity", model_id: "f-model", alert_type: "f-type"};
let alerts = [];

for (const [name, id] of Object.entries(FILTERS)) {
  const input = document.getElementById(id);
  input.value = MX.params.get(name) || "";
  input.addEventListener("change", () => { MX.setParams({[name]: input.value || null}); MX.refreshNow(); });
}

// What an alert is about: its model, or for a rule's group of series its labels.
function subject(alert) {
  if (alert.model_id !== null) return alert.model_id;
  const pairs = Object.entries(alert.labels).filter(([k]) => k !== "rule");
  return pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(", ") : `rule ${alert.labels.rule}`;
}

async function act(alert, action) {
  try {
    if (action === "silence") {
      const duration = document.getElementById("silence-for").value;
      // An alert of a model silences that model's alerts of its type; one of a rule's
      // group (no model) silences that group of that rule.
      const matchers = alert.model_id !== null
        ? {model_id: alert.model_id, alertname: alert.alert_type}
        : {...alert.labels, alertname: alert.alert_type};
      await MX.post("/silences", {matchers, duration,
        created_by: "dashboard", comment: `silenced from the dashboard: ${alert.message}`});
      MX.toast(`Silenced ${alert.alert_type} alerts of ${subject(alert)} for ${duration}.`);
    } else {
      await MX.post(`/alerts/${encodeURIComponent(alert.id)}/${action}`);
      MX.toast(`Alert ${action === "resolve" ? "resolved" : "acknowledged"}.`);
    }
  } catch (error) {
    MX.toast(error.message);
  }
  await MX.refreshNow();
}

function render() {
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  if (!alerts.length) { body.append(el("tr", {}, el("td", {class: "empty", colspan: 9}, "No alerts match."))); return; }
  for (const a of alerts) {
    const actions = el("span", {class: "actions"},
      el("button", {type: "button", "data-action": "resolve", disabled: a.resolved ? "" : null, onclick: () => act(a, "resolve")}, "Resolve"),
      el("button", {type: "button", class: "secondary", "data-action": "acknowledge", disabled: a.acknowledged || a.resolved ? "" : null, onclick: () => act(a, "acknowledge")}, "Ack"),
      el("button", {type: "button", class: "secondary", "data-action": "silence", disabled: a.resolved ? "" : null, onclick: () => act(a, "silence")}, "Silence"));
    body.append(el("tr", {"data-alert": a.id},
      el("td", {}, MX.when(a.timestamp)), el("td", {}, a.model_id !== null
        ? el("a", {href: "/models/" + encodeURIComponent(a.model_id)}, a.model_id)
        : subject(a)),
      el("td", {}, a.alert_type), el("td", {}, MX.severityBadge(a.severity)),
      el("td", {"data-field": "status"}, a.status + (a.acknowledged ? " · acknowledged" : "")),
      el("td", {class: "num"}, fmt(a.value, 3)), el("td", {class: "num"}, fmt(a.threshold, 3)), el("td", {class: "message"}, a.message), el("td", {}, actions)));
  }
}

async function refresh() {
  const filters = {limit: 1000};
  for (const [name, id] of Object.entries(FILTERS)) filters[name] = document.getElementById(id).value;
  const r = MX.range();
  // Alerts in view: those still open, and those that started within the range.
  alerts = (await MX.get("/alerts?" + MX.query(filters))).filter((a) => !a.resolved || new Date(a.timestamp) >= r.start);
  render();
}

MX.setExport(() => ({name: "alerts", rows: MX.alertRows(alerts)}));
MX.onRefresh(refresh);
MX.start();
MX.refreshNow();
MX.live(null, (message) => { if (message.type === "alert") MX.refreshNow(); });

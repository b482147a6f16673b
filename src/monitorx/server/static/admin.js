// Keys and users of the project, for admins: list, create, revoke or delete. A user
// who logged in with a password also sets up its own TOTP second factor here.
"use strict";

const {el} = MX;
const byId = (id) => document.getElementById(id);

function emptyRow(table, columns, text) {
  byId(table).querySelector("tbody").replaceChildren(
    el("tr", {}, el("td", {class: "empty", colspan: columns}, text)));
}

function refused(error, what) {
  return error.status === 403 ? `${what} are for admins: sign in as an admin.` : error.message;
}

async function loadKeys() {
  try {
    const keys = await MX.get("/keys");
    const body = byId("keys").querySelector("tbody");
    body.replaceChildren();
    if (!keys.length) { emptyRow("keys", 6, "No keys yet."); return; }
    for (const k of keys) {
      const revoke = k.revoked_at ? null : el("button", {type: "button", class: "danger", "data-key": k.id,
        onclick: () => revokeKey(k)}, "Revoke");
      body.append(el("tr", {"data-key": k.id}, el("td", {}, k.hint), el("td", {}, k.name), el("td", {}, k.role),
        el("td", {}, MX.when(k.created_at)), el("td", {}, k.revoked_at ? MX.when(k.revoked_at) : "–"), el("td", {}, revoke)));
    }
  } catch (error) { emptyRow("keys", 6, refused(error, "Keys")); }
}

async function loadUsers() {
  try {
    const users = await MX.get("/users");
    const body = byId("users").querySelector("tbody");
    body.replaceChildren();
    if (!users.length) { emptyRow("users", 6, "No users yet."); return; }
    for (const u of users) {
      const remove = el("button", {type: "button", class: "danger", "data-user": u.username,
        onclick: () => deleteUser(u)}, "Delete");
      body.append(el("tr", {"data-user": u.username}, el("td", {}, u.username), el("td", {}, u.role),
        el("td", {}, MX.when(u.created_at)), el("td", {}, u.totp_enabled ? "on" : "off"),
        el("td", {}, u.disabled_at ? MX.when(u.disabled_at) : "–"), el("td", {}, remove)));
    }
  } catch (error) { emptyRow("users", 6, refused(error, "Users")); }
}

async function createKey() {
  try {
    const made = await MX.post("/keys", {role: byId("key-role").value, name: byId("key-name").value.trim()});
    const shown = byId("key-new");
    shown.textContent = `New ${made.role} key, shown this once: ${made.key}`;
    shown.hidden = false;
    byId("key-name").value = "";
    await loadKeys();
  } catch (error) { MX.toast(error.message); }
}

async function revokeKey(key) {
  if (!confirm(`Revoke key ${key.hint} (${key.name || key.role})? It stops working at once.`)) return;
  try { await MX.request("DELETE", `/keys/${encodeURIComponent(key.id)}`); await loadKeys(); }
  catch (error) { MX.toast(error.message); }
}

async function createUser() {
  const body = {username: byId("user-name").value.trim(), password: byId("user-password").value, role: byId("user-role").value};
  try {
    await MX.post("/users", body);
    byId("user-name").value = "";
    byId("user-password").value = "";
    MX.toast(`User ${body.username} created.`);
    await loadUsers();
  } catch (error) { MX.toast(error.message); }
}

async function deleteUser(user) {
  if (!confirm(`Delete user ${user.username}? Its sessions end at once.`)) return;
  try { await MX.request("DELETE", `/users/${encodeURIComponent(user.id)}`); await loadUsers(); }
  catch (error) { MX.toast(error.message); }
}

async function enrolTotp() {
  try {
    const enrolment = await MX.post("/auth/totp");
    const secret = byId("totp-secret");
    secret.textContent = `Secret ${enrolment.secret} (${enrolment.uri})`;
    for (const id of ["totp-secret", "totp-code", "totp-confirm"]) byId(id).hidden = false;
  } catch (error) { MX.toast(error.message); }
}

async function confirmTotp() {
  try {
    await MX.post("/auth/totp/confirm", {code: byId("totp-code").value.trim()});
    MX.toast("TOTP is on: your next login asks for a code.");
    for (const id of ["totp-secret", "totp-code", "totp-confirm"]) byId(id).hidden = true;
  } catch (error) { MX.toast(error.message); }
}

byId("key-create").addEventListener("click", createKey);
byId("user-create").addEventListener("click", createUser);
byId("totp-enrol").addEventListener("click", enrolTotp);
byId("totp-confirm").addEventListener("click", confirmTotp);
const c = MX.credential();
byId("my-totp").hidden = !(c && c.kind === "user");

MX.setExport(() => ({name: "admin", rows: []}));
MX.onRefresh(() => Promise.all([loadKeys(), loadUsers()]));
MX.start();
MX.refreshNow();

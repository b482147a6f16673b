// The login page: check a key or JWT against the API, or log in with a username and
// password (and a TOTP code when the server asks for one) for a user's tokens; keep
// the credential in sessionStorage, and go back to the page that asked.
"use strict";

document.getElementById("controls").hidden = true;

const field = (id) => document.getElementById(id);
const kind = () => document.querySelector("input[name=kind]:checked").value;

function showFields() {
  const password = kind() === "password";
  field("login-value").hidden = password;
  field("login-username").hidden = !password;
  field("login-password").hidden = !password;
  field("login-project").hidden = !password;
  if (!password) field("login-totp").hidden = true;
}

function fail(text) {
  field("login-error").textContent = text;
}

function goBack() {
  const next = MX.params.get("next") || "/";
  // Only a path on this server: "//host" and "/\\host" would leave it.
  location.href = /^\/(?![\/\\])/.test(next) ? next : "/";
}

// "Sign in with SSO" only where the server has a provider (MONITORX_OIDC_ISSUER).
fetch("/auth/oidc/config").then((r) => r.json()).then((config) => {
  if (!config.enabled) return;
  const next = MX.params.get("next");
  document.getElementById("login-sso").href = config.login_url + (next ? "?next=" + encodeURIComponent(next) : "");
  document.getElementById("sso").hidden = false;
}).catch(() => {});

async function withKeyOrToken() {
  const value = field("login-value").value.trim();
  const headers = kind() === "jwt" ? {"Authorization": "Bearer " + value} : {"X-API-Key": value};
  const response = await fetch(MX.API + "/models", {headers});
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    fail(body.detail || `sign-in failed (${response.status})`);
    return;
  }
  sessionStorage.setItem(MX.CREDENTIAL, JSON.stringify({kind: kind(), value}));
  goBack();
}

async function withPassword() {
  const body = {username: field("login-username").value.trim(), password: field("login-password").value};
  const totp = field("login-totp");
  if (!totp.hidden && totp.value.trim()) body.totp = totp.value.trim();
  // A user belongs to one project: the login names it (the server's own when blank).
  const project = field("login-project").value.trim();
  const headers = {"Content-Type": "application/json"};
  if (project) headers["X-MonitorX-Project"] = project;
  const response = await fetch(MX.API + "/auth/token", {
    method: "POST", headers, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = answer.detail || `sign-in failed (${response.status})`;
    if (/TOTP/.test(detail) && totp.hidden) {
      // The password was right; the account has a second factor.
      totp.hidden = false;
      totp.focus();
      fail("Enter the code your authenticator app shows.");
      return;
    }
    fail(detail);
    return;
  }
  MX.keepTokens(answer, project);
  goBack();
}

function signIn() {
  fail("");
  return kind() === "password" ? withPassword() : withKeyOrToken();
}

document.querySelectorAll("input[name=kind]").forEach((radio) => radio.addEventListener("change", showFields));
document.getElementById("login-submit").addEventListener("click", signIn);
for (const id of ["login-value", "login-username", "login-password", "login-project", "login-totp"]) {
  field(id).addEventListener("keydown", (event) => { if (event.key === "Enter") signIn(); });
}
showFields();

// The login page: check a key or JWT against the API, keep it in sessionStorage,
// and go back to the page that asked.
"use strict";

document.getElementById("controls").hidden = true;

async function signIn() {
  const kind = document.querySelector("input[name=kind]:checked").value;
  const value = document.getElementById("login-value").value.trim();
  const headers = kind === "jwt" ? {"Authorization": "Bearer " + value} : {"X-API-Key": value};
  const response = await fetch(MX.API + "/models", {headers});
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    document.getElementById("login-error").textContent = body.detail || `sign-in failed (${response.status})`;
    return;
  }
  sessionStorage.setItem(MX.CREDENTIAL, JSON.stringify({kind, value}));
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

document.getElementById("login-submit").addEventListener("click", signIn);
document.getElementById("login-value").addEventListener("keydown", (event) => { if (event.key === "Enter") signIn(); });

// The end of a single sign-on: keep the session the server handed over, as the
// login page keeps a key or token, and go on to the page that asked.
"use strict";

// This page loads no mx.js (it sets up charts and controls this page has not).
(() => {
  const CREDENTIAL = "monitorx-credential"; // mx.js's MX.CREDENTIAL
  const body = document.body;
  // The pair POST /api/v1/auth/token answers, kept as mx.js's MX.keepTokens keeps it:
  // the dashboard renews the access token with the refresh token from then on.
  const pair = JSON.parse(body.dataset.credential);
  sessionStorage.setItem(CREDENTIAL, JSON.stringify({
    kind: "user", value: pair.access_token, refresh: pair.refresh_token,
    expires: Date.now() + pair.expires_in * 1000,
  }));
  delete body.dataset.credential;
  const next = body.dataset.next || "/";
  // replace: the browser's back button never returns to this page.
  location.replace(/^\/(?![\/\\])/.test(next) ? next : "/");
})();

// The end of a single sign-on: keep the session the server handed over, as the
// login page keeps a key or token, and go on to the page that asked.
"use strict";

// This page loads no mx.js (it sets up charts and controls this page has not).
(() => {
  const CREDENTIAL = "monitorx-credential"; // mx.js's MX.CREDENTIAL
  const body = document.body;
  sessionStorage.setItem(CREDENTIAL, JSON.stringify({kind: "jwt", value: body.dataset.credential}));
  delete body.dataset.credential;
  const next = body.dataset.next || "/";
  // replace: the browser's back button never returns to this page.
  location.replace(/^\/(?![\/\\])/.test(next) ? next : "/");
})();

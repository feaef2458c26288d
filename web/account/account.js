// The account pages (/account/reset-password, /account/verify-email): read the link's token, send it
// to the API with what the customer typed, say what happened. No framework, no other files; the API
// is found relative to this page, so a proxy prefix ("/shop/account/...") works.
"use strict";
(function () {
  const page = document.body.dataset.page;
  const form = document.getElementById("form");
  const message = document.getElementById("message");
  const submit = document.getElementById("submit");
  const apiRoot = location.pathname.replace(/account\/[^/]*\/?$/, "");
  const token = new URLSearchParams(location.search).get("token") || "";
  // The token stays in memory only: out of the address bar and the history.
  history.replaceState(null, "", location.pathname);

  function say(text, kind) {
    message.textContent = text;
    message.className = "message " + kind;
  }

  // The API's error body names the field or gives a sentence; show the first thing it says.
  function problem(body) {
    if (body && body.code === "invalid_token") return "This link is invalid, used or expired. Ask for a new one.";
    if (body && body.details) {
      for (const messages of Object.values(body.details)) {
        if (Array.isArray(messages) && messages.length) return messages[0];
      }
    }
    return (body && body.error) || "Something went wrong; try again.";
  }

  async function post(path, body) {
    const response = await fetch(apiRoot + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.ok) return null;
    try {
      return problem(await response.json());
    } catch (e) {
      return "Something went wrong (" + response.status + "); try again.";
    }
  }

  async function reset() {
    const password = document.getElementById("password").value;
    if (password !== document.getElementById("again").value) return say("The two passwords differ.", "error");
    submit.disabled = true;
    const error = await post("password/reset/confirm/", { token, password });
    if (error) {
      submit.disabled = false;
      return say(error, "error");
    }
    form.hidden = true;
    say("Your password is changed. Sign in with the new one; every other session was signed out.", "done");
  }

  async function verify() {
    submit.disabled = true;
    const error = await post("email/verify/", { token });
    if (error) {
      submit.disabled = false;
      return say(error, "error");
    }
    form.hidden = true;
    say("Thank you: your email address is confirmed.", "done");
  }

  if (!token) {
    form.hidden = true;
    say("This page needs the link from your email.", "error");
    return;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    (page === "reset" ? reset() : verify()).catch(() => {
      submit.disabled = false;
      say("The shop cannot be reached; try again.", "error");
    });
  });
})();

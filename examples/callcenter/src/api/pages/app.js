"use strict";
// What every page shares: the session (its token in sessionStorage, for this tab only), the
// sign-in form and the sign-out button, the socket of the tenant's events with its
// reconnection, and the status line. A page calls App.start({ event, reset }): `event` gets
// every message of the socket (the snapshot first), `reset` clears what the page shows when
// the session ends.
const App = (() => {
  const $ = (selector) => document.querySelector(selector);
  let token = sessionStorage.getItem("token");
  let socket = null;
  let retryIn = 1000;
  let timer = null;
  // Counts sockets: a handler of an older one (signed out, or replaced) does nothing.
  let generation = 0;
  let handlers = { event: () => {}, reset: () => {} };

  function status(text, kind) {
    const line = $("#status");
    line.textContent = text;
    line.dataset.kind = kind || "";
  }

  function session() {
    try {
      return JSON.parse(sessionStorage.getItem("session") || "null");
    } catch (_) {
      return null;
    }
  }

  function show(signedIn) {
    $("#login").classList.toggle("hidden", signedIn);
    $("#signed-in").classList.toggle("hidden", !signedIn);
    $("#content").classList.toggle("hidden", !signedIn);
    const who = session();
    $("#who").textContent = signedIn && who ? `${who.username} (${who.tenant})` : "";
  }

  // Ends the session: nothing of it stays on the page, the form asks to sign in again.
  function signOut(reason) {
    sessionStorage.removeItem("token");
    sessionStorage.removeItem("session");
    token = null;
    generation += 1;
    clearTimeout(timer);
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
      socket = null;
    }
    handlers.reset();
    show(false);
    status(reason, "signed-out");
  }

  // The token of a socket that closed before it opened: the browser says only 1006, so ask
  // the API what it makes of the token (401: sign in again; 403: this user has no live view;
  // anything else, e.g. too many sockets or the server down: try again later).
  async function sessionStatus() {
    try {
      const answer = await fetch("/api/session", { headers: { Authorization: `Bearer ${token}` } });
      return answer.status;
    } catch (_) {
      return 0;
    }
  }

  function connect() {
    if (!token) {
      show(false);
      return;
    }
    show(true);
    const mine = ++generation;
    let opened = false;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`);
    socket.onopen = () => {
      opened = true;
      retryIn = 1000;
    };
    socket.onmessage = (message) => {
      if (mine !== generation) return;
      const event = JSON.parse(message.data);
      if (event.type === "snapshot") {
        const up = event.nodes && event.nodes.connected > 0;
        status(up ? "live" : "no FreeSWITCH node connected", up ? "live" : "degraded");
      }
      handlers.event(event);
    };
    socket.onclose = async (closed) => {
      if (mine !== generation) return;
      socket = null;
      if (!token) return;
      if (closed.code === 4001) return signOut("session expired: sign in again");
      if (closed.code === 4003) return signOut("access revoked: sign in again");
      const status = opened ? 200 : await sessionStatus();
      if (mine !== generation) return;
      if (status === 401) return signOut("session expired: sign in again");
      if (status === 403) return signOut("this user has no live view: sign in as a tenant user");
      status(`disconnected: trying again in ${Math.round(retryIn / 1000)} s`, "down");
      clearTimeout(timer);
      timer = setTimeout(connect, retryIn);
      retryIn = Math.min(retryIn * 2, 30000);
    };
  }

  async function signIn(submit) {
    submit.preventDefault();
    const field = (id) => document.getElementById(id).value;
    const error = $("#login-error");
    error.textContent = "";
    let answer;
    let body = {};
    try {
      answer = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tenant: field("tenant"), username: field("username"), password: field("password") }),
      });
      body = await answer.json();
    } catch (_) {
      error.textContent = "the server cannot be reached";
      return;
    }
    if (!answer.ok) {
      error.textContent = body.error || "sign-in failed";
      return;
    }
    document.getElementById("password").value = "";
    token = body.token;
    sessionStorage.setItem("token", token);
    sessionStorage.setItem(
      "session",
      JSON.stringify({ tenant: body.tenant, username: field("username"), role: body.role, extension: body.extension }),
    );
    retryIn = 1000;
    connect();
  }

  // A REST call with the session's token; a 401 ends the session.
  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await answer.json().catch(() => null);
    if (answer.status === 401) signOut("session expired: sign in again");
    return { status: answer.status, body: json };
  }

  function start(pageHandlers) {
    handlers = pageHandlers;
    $("#login").addEventListener("submit", signIn);
    $("#sign-out").addEventListener("click", async () => {
      // The token stops working on the server too (it is in the socket's URL, and logs).
      if (token) {
        await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
      }
      signOut("signed out");
    });
    if (token) {
      connect();
    } else {
      show(false);
      status("signed out", "signed-out");
    }
  }

  // "m:ss" (or "h:mm:ss") of a number of seconds.
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const clock = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, "0")}`;
    return s >= 3600 ? `${Math.floor(s / 3600)}:${clock.padStart(5, "0")}` : clock;
  }

  // A name without its "@tenant".
  function short(name) {
    return String(name || "").replace(/@[^@]*$/, "");
  }

  return { start, api, session, status, duration, short };
})();

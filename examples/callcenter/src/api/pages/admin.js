"use strict";
// The administration page, for an operator (plans, trunks, tenants, their users, DIDs and
// credit) or a tenant's admin (extensions, DID routes, balance, calls). It opens no socket:
// every change is one REST call, and the lists are read again after it. Everything shown is
// set as text, never as HTML.
(() => {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("admin-token");
  let role = sessionStorage.getItem("admin-role");

  function status(text) {
    $("status").textContent = text;
  }

  function show() {
    const signedIn = !!token;
    $("login").classList.toggle("hidden", signedIn);
    $("signed-in").classList.toggle("hidden", !signedIn);
    $("operator").classList.toggle("hidden", !(signedIn && role === "operator"));
    $("tenant-admin").classList.toggle("hidden", !(signedIn && role === "admin"));
    $("who").textContent = signedIn ? sessionStorage.getItem("admin-who") || "" : "";
    status(signedIn ? role : "signed out");
    if (signedIn && role === "operator") refreshOperator();
    if (signedIn && role === "admin") refreshTenant();
  }

  function signOut(reason) {
    token = null;
    role = null;
    for (const key of ["admin-token", "admin-role", "admin-who"]) sessionStorage.removeItem(key);
    for (const body of document.querySelectorAll("tbody")) body.replaceChildren();
    show();
    status(reason);
  }

  // A REST call with the session's token: { status, body }; a 401 ends the session.
  async function api(method, path, body, contentType) {
    const headers = { Authorization: `Bearer ${token}` };
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      payload = contentType ? body : JSON.stringify(body);
    }
    const answer = await fetch(path, { method, headers, body: payload });
    const json = await answer.json().catch(() => null);
    if (answer.status === 401) signOut("session expired: sign in again");
    return { status: answer.status, body: json };
  }

  function rows(tbody, items, cells) {
    const body = $(tbody);
    body.replaceChildren();
    for (const item of items) {
      const tr = document.createElement("tr");
      for (const value of cells(item)) {
        const td = document.createElement("td");
        td.textContent = value === null || value === undefined ? "" : String(value);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  // Plays a recording: the API hands out a short-lived link an <audio> can load without the
  // token (a pre-signed URL on S3, a ticket on this daemon otherwise).
  async function play(linkPath, player, result) {
    $(result).textContent = "…";
    const answer = await api("GET", linkPath);
    if (answer.status !== 200) {
      $(result).textContent = (answer.body && answer.body.error) || `failed (${answer.status})`;
      return;
    }
    $(result).textContent = "";
    $(player).src = answer.body.url;
    $(player).play().catch(() => {});
  }

  // A table cell holding one button.
  function buttonCell(text, onClick) {
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.addEventListener("click", onClick);
    td.appendChild(button);
    return td;
  }

  // A call's recordings: one Play button each, in place of the button that listed them.
  async function listRecordings(uuid, td) {
    const answer = await api("GET", `/api/recordings/${segment(uuid)}`);
    td.replaceChildren();
    if (answer.status !== 200) {
      td.textContent = (answer.body && answer.body.error) || `failed (${answer.status})`;
      return;
    }
    if (answer.body.recordings.length === 0) td.textContent = "none";
    for (const recording of answer.body.recordings) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Play ${Math.round(recording.duration_ms / 1000)} s`;
      button.addEventListener("click", () => play(recording.playback, "player", "player-result"));
      td.appendChild(button);
    }
  }

  // The operator's unassigned CDRs and recordings, a page at a time.
  const unassignedNext = { cdrs: null, recordings: null };
  async function refreshUnassigned(kind, more) {
    const query = new URLSearchParams({ limit: "50" });
    if (more && unassignedNext[kind] !== null) query.set("after", unassignedNext[kind]);
    const answer = await api("GET", `/api/operator/unassigned-${kind}?${query}`);
    if (answer.status !== 200) return;
    const body = $(`unassigned-${kind}`);
    if (!more) body.replaceChildren();
    for (const item of answer.body[kind]) {
      const tr = document.createElement("tr");
      const cells = kind === "cdrs"
        ? [item.uuid, item.leg, item.reason, item.named_tenant, item.destination, item.billsec]
        : [item.call_uuid, Math.round(item.duration_ms / 1000), item.size_bytes];
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(td);
      }
      if (kind === "recordings") {
        tr.appendChild(buttonCell("Play", () =>
          play(`/api/operator/unassigned-recordings/${item.id}/link`, "operator-player", "operator-player-result")));
      }
      body.appendChild(tr);
    }
    unassignedNext[kind] = answer.body.next;
    $(`unassigned-${kind}-more`).classList.toggle("hidden", answer.body.next === null);
  }

  const value = (id) => $(id).value.trim();
  const optional = (id) => value(id) || null;
  const segment = (text) => encodeURIComponent(text);

  // Runs a form's change and says how it went next to it.
  function form(id, change, refresh) {
    $(id).addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = $($(id).dataset.result);
      result.textContent = "…";
      result.classList.remove("error");
      let answer;
      try {
        answer = await change();
      } catch (_) {
        answer = { status: 0, body: { error: "the server cannot be reached" } };
      }
      const ok = answer.status >= 200 && answer.status < 300;
      result.textContent = ok ? "saved" : (answer.body && answer.body.error) || `failed (${answer.status})`;
      result.classList.toggle("error", !ok);
      if (ok) refresh();
    });
  }

  async function refreshOperator() {
    const [plans, trunks, tenants] = await Promise.all([
      api("GET", "/api/operator/plans"),
      api("GET", "/api/operator/trunks"),
      api("GET", "/api/operator/tenants"),
    ]);
    if (plans.status === 200) rows("plans", plans.body.plans, (p) => [p.id, p.currency, p.decimals]);
    if (trunks.status === 200)
      rows("trunks", trunks.body.trunks, (t) => [t.name, t.profile, t.proxy, t.username, t.register ? "yes" : "no"]);
    if (tenants.status === 200)
      rows("tenants", tenants.body.tenants, (t) => [
        t.tenant, t.domain, t.context, t.trunk, t.prepaid ? "yes" : "no", t.disabled ? "disabled" : "active",
      ]);
    await Promise.all([refreshUnassigned("cdrs", false), refreshUnassigned("recordings", false)]);
  }

  async function refreshTenant() {
    const [balance, extensions, dids, users, queues, menus] = await Promise.all([
      api("GET", "/api/balance"),
      api("GET", "/api/extensions?limit=1000"),
      api("GET", "/api/dids"),
      api("GET", "/api/users"),
      api("GET", "/api/queues"),
      api("GET", "/api/menus"),
    ]);
    if (users.status === 200) rows("users", users.body.users, (u) => [u.username, u.role, u.extension]);
    if (queues.status === 200)
      rows("queues", queues.body.queues, (q) => [q.name, q.extension, q.strategy, q.service_level_seconds]);
    if (menus.status === 200)
      rows("menus", menus.body.menus, (m) => [
        m.name, m.extension, Object.entries(m.entries || {}).map(([d, a]) => `${d}=${a}`).join(" "),
      ]);
    if (balance.status === 200)
      $("balance").textContent = `${balance.body.balance} (available ${balance.body.available}, held ${balance.body.held})`;
    if (extensions.status === 200)
      rows("extensions", extensions.body.extensions, (e) => [e.extension, e.caller_id_name, e.record_calls ? "yes" : "no"]);
    if (dids.status === 200) rows("dids", dids.body.dids, (d) => [d.number, d.route]);
  }

  // The CDR search: its query, and the page after which the next one starts.
  let cdrQuery = "";
  let cdrNext = null;
  function cdrParameters() {
    const query = new URLSearchParams();
    for (const [field, id] of [["from", "cdr-from"], ["to", "cdr-to"], ["caller", "cdr-caller"], ["destination", "cdr-destination"]]) {
      if (value(id)) query.set(field, value(id));
    }
    return query;
  }
  async function searchCdrs(more) {
    if (!more) {
      cdrQuery = cdrParameters().toString();
      cdrNext = null;
      $("cdrs").replaceChildren();
    }
    const query = new URLSearchParams(cdrQuery);
    query.set("limit", "50");
    if (cdrNext !== null) query.set("after", cdrNext);
    const answer = await api("GET", `/api/cdrs?${query}`);
    if (answer.status !== 200) {
      $("cdr-result").textContent = (answer.body && answer.body.error) || `failed (${answer.status})`;
      return;
    }
    $("cdr-result").textContent = "";
    const body = $("cdrs");
    for (const c of answer.body.cdrs) {
      const tr = document.createElement("tr");
      const start = c.start_us ? new Date(c.start_us / 1000).toISOString() : "";
      for (const cell of [start, c.caller, c.destination, c.billsec, c.outcome, c.amount]) {
        const td = document.createElement("td");
        td.textContent = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(td);
      }
      const recordings = buttonCell("Recordings", () => listRecordings(c.uuid, recordings));
      tr.appendChild(recordings);
      body.appendChild(tr);
    }
    cdrNext = answer.body.next;
    $("cdr-more").classList.toggle("hidden", cdrNext === null);
  }
  async function exportCdrs() {
    const answer = await fetch(`/api/cdrs/export?${cdrParameters()}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!answer.ok) {
      const body = await answer.json().catch(() => null);
      $("cdr-result").textContent = (body && body.error) || `failed (${answer.status})`;
      return;
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await answer.blob());
    link.download = "cdrs.csv";
    link.click();
    URL.revokeObjectURL(link.href);
  }

  async function signIn(submit) {
    submit.preventDefault();
    $("login-error").textContent = "";
    const tenant = value("tenant");
    const request = { username: value("username"), password: $("password").value };
    if (tenant) request.tenant = tenant;
    let answer;
    let body = {};
    try {
      answer = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
      });
      body = await answer.json();
    } catch (_) {
      $("login-error").textContent = "the server cannot be reached";
      return;
    }
    $("password").value = "";
    if (!answer.ok) {
      $("login-error").textContent = body.error || "sign-in failed";
      return;
    }
    if (body.role === "agent") {
      $("login-error").textContent = "an agent has no administration: use /agent";
      return;
    }
    token = body.token;
    role = body.role;
    sessionStorage.setItem("admin-token", token);
    sessionStorage.setItem("admin-role", role);
    sessionStorage.setItem("admin-who", tenant ? `${request.username} (${tenant})` : `${request.username} (operator)`);
    show();
  }

  form("plan-form", () =>
    api(
      "PUT",
      `/api/operator/plans/${segment(value("plan-id"))}?currency=${segment(value("plan-currency"))}&decimals=${segment(value("plan-decimals"))}`,
      $("plan-csv").value,
      "text/csv",
    ), refreshOperator);
  form("trunk-form", () => {
    const trunk = {
      profile: value("trunk-profile"), proxy: value("trunk-proxy"), realm: null,
      username: optional("trunk-username"), register: $("trunk-register").checked,
      from_domain: null, caller_id_in_from: false,
      expire_seconds: Number(value("trunk-expire")), retry_seconds: Number(value("trunk-retry")),
    };
    if ($("trunk-password").value) trunk.password = $("trunk-password").value;
    return api("PUT", `/api/operator/trunks/${segment(value("trunk-name"))}`, trunk);
  }, refreshOperator);
  form("tenant-form", () =>
    api("PUT", `/api/operator/tenants/${segment(value("tenant-id"))}`, {
      domain: value("tenant-domain"), context: value("tenant-context") || value("tenant-id"),
      rate_plan: value("tenant-plan"), prepaid: $("tenant-prepaid").checked,
      credit_limit: value("tenant-credit") || "0", record_calls: $("tenant-record").checked,
      time_zone: optional("tenant-zone"), trunk: optional("tenant-trunk"),
      disabled: $("tenant-disabled").checked,
    }), refreshOperator);
  form("user-form", () =>
    api("PUT", `/api/operator/tenants/${segment(value("user-tenant"))}/users/${segment(value("user-name"))}`, {
      role: $("user-role").value, extension: null, password: $("user-password").value,
    }), () => { $("user-password").value = ""; });
  form("did-form", () =>
    api("PUT", `/api/operator/dids/${segment(value("did-number"))}`, { tenant: value("did-tenant") }), () => {});
  form("topup-form", () =>
    api("POST", "/api/topups", {
      tenant: value("topup-tenant"), amount: value("topup-amount"), reference: value("topup-reference"),
    }), () => {});
  form("extension-form", () => {
    const extension = {
      caller_id_name: optional("extension-caller-name"), caller_id_number: null,
      record_calls: $("extension-record").checked,
    };
    if ($("extension-password").value) extension.password = $("extension-password").value;
    return api("PUT", `/api/extensions/${segment(value("extension-name"))}`, extension);
  }, () => { $("extension-password").value = ""; refreshTenant(); });
  form("tenant-user-form", () =>
    api("PUT", `/api/users/${segment(value("tenant-user-name"))}`, {
      role: $("tenant-user-role").value, extension: optional("tenant-user-extension"),
      password: $("tenant-user-password").value,
    }), () => { $("tenant-user-password").value = ""; refreshTenant(); });
  form("queue-form", () => {
    const queue = {
      extension: optional("queue-extension"), strategy: $("queue-strategy").value,
      moh_sound: optional("queue-moh"), service_level_seconds: Number(value("queue-service-level")),
    };
    return api("PUT", `/api/queues/${segment(value("queue-name"))}`, queue);
  }, refreshTenant);
  form("menu-form", () => {
    // One entry a line: digits=action.
    const entries = {};
    for (const line of $("menu-entries").value.split("\n")) {
      const [digits, ...action] = line.split("=");
      if (digits.trim()) entries[digits.trim()] = action.join("=").trim();
    }
    // A PUT replaces the menu: every setting is sent.
    return api("PUT", `/api/menus/${segment(value("menu-name"))}`, {
      extension: optional("menu-extension"), greet_long: value("menu-greeting"),
      greet_short: optional("menu-greeting-short"), invalid_sound: value("menu-invalid"),
      exit_sound: value("menu-exit"), timeout_ms: Number(value("menu-timeout")),
      max_failures: Number(value("menu-failures")), entries,
    });
  }, refreshTenant);
  form("route-form", () =>
    api("PUT", `/api/dids/${segment(value("route-number"))}`, { route: value("route-to") }), refreshTenant);

  $("login").addEventListener("submit", signIn);
  $("cdr-form").addEventListener("submit", (submit) => { submit.preventDefault(); searchCdrs(false); });
  $("cdr-more").addEventListener("click", () => searchCdrs(true));
  $("unassigned-cdrs-more").addEventListener("click", () => refreshUnassigned("cdrs", true));
  $("unassigned-recordings-more").addEventListener("click", () => refreshUnassigned("recordings", true));
  $("cdr-export").addEventListener("click", exportCdrs);
  $("sign-out").addEventListener("click", async () => {
    if (token) await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
    signOut("signed out");
  });
  show();
})();

"use strict";
// The signed-in agent (the user's extension, `extension@tenant` to mod_callcenter): its status
// and state, the call offered to it or being talked (caller and queue), its counts; buttons set
// its status, a form places a call from its extension.
(() => {
  const $ = (selector) => document.querySelector(selector);
  let agent = null;
  let ticker = null;

  function me() {
    const session = App.session();
    return session && session.extension ? `${session.extension}@${session.tenant}` : null;
  }

  function render() {
    const session = App.session();
    $("#agent-name").textContent = session && session.extension ? session.extension : "";
    $("#no-extension").classList.toggle("hidden", !session || !!session.extension);
    $("#agent-status").textContent = agent ? agent.status : "unknown";
    $("#agent-state").textContent = agent ? agent.state : "";
    for (const button of document.querySelectorAll("#statuses button")) {
      button.classList.toggle("current", !!agent && button.dataset.status === agent.status);
    }
    const call = agent && agent.call;
    $("#call-none").classList.toggle("hidden", !!call);
    $("#call-details").classList.toggle("hidden", !call);
    if (call) {
      $("#call-state").textContent = call.answered_at == null ? "Offered:" : "Talking with";
      $("#call-caller").textContent = call.caller_number || "unknown caller";
      $("#call-queue").textContent = App.short(call.queue);
      $("#call-time").textContent =
        call.answered_at == null ? "" : App.duration(Date.now() / 1000 - call.answered_at);
    }
    $("#calls-answered").textContent = agent ? agent.calls_answered : 0;
    $("#talk-time").textContent = App.duration(agent ? agent.talk_seconds : 0);
  }

  for (const button of document.querySelectorAll("#statuses button")) {
    button.addEventListener("click", async () => {
      const session = App.session();
      if (!session || !session.extension) return;
      $("#status-error").textContent = "";
      const answer = await App.api("PUT", `/api/agents/${encodeURIComponent(session.extension)}/status`, {
        status: button.dataset.status,
      });
      if (answer.status !== 200) {
        $("#status-error").textContent = (answer.body && answer.body.error) || `failed (${answer.status})`;
      } else if (answer.body.nodes.some((node) => !node.applied)) {
        $("#status-error").textContent = "stored; not every FreeSWITCH node took it yet";
      }
    });
  }

  $("#dial").addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const result = $("#dial-result");
    result.textContent = "calling…";
    const answer = await App.api("POST", "/api/calls", { to: $("#dial-to").value });
    result.textContent = answer.status === 202 ? "ringing your phone" : (answer.body && answer.body.error) || `failed (${answer.status})`;
  });

  App.start({
    event(event) {
      const name = me();
      if (event.type === "snapshot") {
        agent = (event.agents || []).find((a) => a.name === name) || null;
      } else if (event.type === "agent_changed" && event.agent.name === name) {
        agent = event.agent;
      } else {
        return;
      }
      render();
      clearInterval(ticker);
      ticker = setInterval(render, 1000);
    },
    reset() {
      agent = null;
      clearInterval(ticker);
      render();
    },
  });
})();

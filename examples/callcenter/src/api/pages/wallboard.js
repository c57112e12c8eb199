"use strict";
// The tenant's queues and agents as they change: callers waiting and the longest wait (red
// past the queue's service-level threshold), agents by status, today's answered, abandoned,
// average speed of answer and service level (stored, per the tenant's day); each agent's
// status, state and call.
(() => {
  const queues = new Map(); // name@tenant -> live queue
  const agents = new Map(); // name@tenant -> live agent
  const setup = new Map(); // queue name -> { threshold, agents: [agent names] }
  const today = new Map(); // queue name -> the day's statistics
  let day = null;
  let ticker = null;

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.append(td);
    return td;
  }

  function renderQueues() {
    const body = document.querySelector("#queues tbody");
    body.replaceChildren();
    const now = Date.now() / 1000;
    const names = new Set([...[...queues.keys()].map(App.short), ...setup.keys(), ...today.keys()]);
    for (const name of [...names].sort()) {
      const queue = [...queues.values()].find((q) => App.short(q.name) === name);
      const waiting = queue ? queue.members.filter((m) => m.answered_at == null) : [];
      const longest = waiting.length ? now - Math.min(...waiting.map((m) => m.joined_at)) : null;
      const conf = setup.get(name) || { threshold: null, agents: [] };
      const stats = today.get(name);
      const threshold = stats ? stats.threshold_seconds : conf.threshold;
      const mine = conf.agents.map((a) => [...agents.values()].find((x) => App.short(x.name) === a)).filter(Boolean);
      const row = document.createElement("tr");
      row.dataset.queue = name;
      cell(row, name, "name");
      cell(row, waiting.length, "number waiting");
      const late = longest != null && threshold != null && longest > threshold;
      cell(row, longest == null ? "" : App.duration(longest), late ? "number longest late" : "number longest");
      cell(row, mine.filter((a) => a.status.startsWith("Available")).length, "number available");
      cell(row, mine.filter((a) => a.status === "On Break").length, "number on-break");
      cell(row, mine.filter((a) => a.state === "In a queue call").length, "number talking");
      cell(row, stats ? stats.answered : 0, "number answered");
      cell(row, stats ? stats.abandoned : 0, "number abandoned");
      cell(row, stats && stats.average_answer_seconds != null ? App.duration(stats.average_answer_seconds) : "", "number asa");
      cell(row, stats && stats.service_level_percent != null ? `${stats.service_level_percent}%` : "", "number service-level");
      body.append(row);
    }
    document.querySelector("#day").textContent = day ? `(${day})` : "";
  }

  function renderAgents() {
    const body = document.querySelector("#agents tbody");
    body.replaceChildren();
    for (const agent of [...agents.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const row = document.createElement("tr");
      row.dataset.agent = App.short(agent.name);
      cell(row, App.short(agent.name), "name");
      cell(row, agent.status, "status");
      cell(row, agent.state, "state");
      const call = agent.call;
      cell(row, call ? `${call.caller_number} · ${App.short(call.queue)}${call.answered_at == null ? " (offered)" : ""}` : "", "call");
      cell(row, agent.calls_answered, "number answered");
      cell(row, App.duration(agent.talk_seconds), "number talk");
      body.append(row);
    }
  }

  function render() {
    renderQueues();
    renderAgents();
  }

  // What the socket does not carry: each queue's threshold and agents, and the day so far.
  async function load() {
    const [configured, statistics] = await Promise.all([
      App.api("GET", "/api/queues"),
      App.api("GET", "/api/contact-center/statistics"),
    ]);
    if (configured.status === 200) {
      setup.clear();
      for (const q of configured.body.queues) {
        setup.set(q.name, { threshold: q.service_level_seconds, agents: q.agents.map((a) => a.agent) });
      }
    }
    if (statistics.status === 200) {
      day = statistics.body.day;
      for (const q of statistics.body.queues) today.set(q.queue, q);
    }
    render();
  }

  App.start({
    event(event) {
      switch (event.type) {
        case "snapshot":
          queues.clear();
          agents.clear();
          for (const q of event.queues || []) queues.set(q.name, q);
          for (const a of event.agents || []) agents.set(a.name, a);
          load();
          clearInterval(ticker);
          ticker = setInterval(renderQueues, 1000);
          break;
        case "queue_changed":
          queues.set(event.queue.name, event.queue);
          break;
        case "agent_changed":
          agents.set(event.agent.name, event.agent);
          break;
        case "queue_statistics":
          if (day == null || event.day >= day) {
            if (event.day !== day) today.clear();
            day = event.day;
            today.set(event.statistics.queue, event.statistics);
          }
          break;
        default:
          return;
      }
      render();
    },
    reset() {
      queues.clear();
      agents.clear();
      setup.clear();
      today.clear();
      day = null;
      clearInterval(ticker);
      render();
    },
  });
})();

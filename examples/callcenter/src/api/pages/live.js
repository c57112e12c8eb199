"use strict";
// The tenant's calls in progress, from the socket's snapshot and call events.
(() => {
  const calls = new Map();

  function render() {
    const body = document.querySelector("#calls tbody");
    body.replaceChildren();
    const sorted = [...calls.values()].sort((a, b) => a.created_us - b.created_us || a.uuid.localeCompare(b.uuid));
    for (const call of sorted) {
      const row = document.createElement("tr");
      row.dataset.uuid = call.uuid;
      const state = call.answered_us == null ? "ringing" : "answered";
      row.className = state;
      for (const [text, cls] of [[call.uuid, "uuid"], [call.direction, ""], [call.caller, ""],
                                 [call.callee, ""], [state, "state"], [call.node, ""]]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (cls) cell.className = cls;
        row.append(cell);
      }
      body.append(row);
    }
    document.querySelector("#count").textContent = calls.size + (calls.size === 1 ? " call" : " calls");
  }

  App.start({
    event(event) {
      switch (event.type) {
        case "snapshot":
          calls.clear();
          for (const call of event.calls) calls.set(call.uuid, call);
          break;
        case "call_started":
        case "call_answered":
          calls.set(event.call.uuid, event.call);
          break;
        case "call_ended":
          calls.delete(event.call.uuid);
          break;
        default:
          return;
      }
      render();
    },
    reset() {
      calls.clear();
      render();
    },
  });
})();

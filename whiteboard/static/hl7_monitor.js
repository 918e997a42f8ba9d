// The HL7 message monitor: everything through /api/v1/hl7/, rendered with textContent only
// (message content is untrusted input).
(function () {
  "use strict";
  const form = document.getElementById("search");
  const tbody = document.querySelector("#messages tbody");
  const status = document.getElementById("status");
  const detail = document.getElementById("detail");
  const replay = document.getElementById("replay");
  let current = null;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
  }

  function render(list) {
    tbody.replaceChildren();
    status.textContent = list.length + " message(s)";
    for (const m of list) {
      const tr = document.createElement("tr");
      tr.className = "state-" + m.state;
      tr.dataset.id = m.id;
      cell(tr, m.id);
      cell(tr, m.received_at.replace("T", " ").slice(0, 19));
      cell(tr, m.sender);
      cell(tr, m.message_type ? m.message_type + "^" + m.trigger_event : "(unreadable)");
      cell(tr, m.control_id);
      cell(tr, m.state);
      cell(tr, m.ack_code);
      cell(tr, m.error ? m.error_code + ": " + m.error : "");
      tr.addEventListener("click", () => show(m.id));
      tbody.appendChild(tr);
    }
  }

  async function getJson(url, options) {
    const response = await fetch(url, options);
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
    return body;
  }

  async function search(event) {
    if (event) event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (!value) continue;
      if (key === "since" || key === "until") {
        params.set(key, new Date(value).toISOString());
      } else {
        params.set(key, value);
      }
    }
    try {
      render((await getJson("/api/v1/hl7/messages?" + params)).messages);
    } catch (err) {
      status.textContent = "Search failed: " + err.message;
    }
  }

  async function errors() {
    try {
      render((await getJson("/api/v1/hl7/errors")).errors);
    } catch (err) {
      status.textContent = "Could not load the error queue: " + err.message;
    }
  }

  async function show(id) {
    const m = await getJson("/api/v1/hl7/messages/" + id);
    current = m;
    detail.hidden = false;
    document.getElementById("detail-title").textContent =
      "Message " + m.id + " · " + (m.control_id || "(no MSH-10)") + " · " + m.state;
    document.getElementById("raw").textContent = m.raw.split("\r").join("\n");
    document.getElementById("ack").textContent = (m.ack || "(none)").split("\r").join("\n");
    const parsed = document.querySelector("#parsed tbody");
    parsed.replaceChildren();
    for (const seg of m.parsed || []) {
      seg.fields.forEach((value, i) => {
        if (!value) return;
        const tr = document.createElement("tr");
        cell(tr, seg.segment + "-" + (i + 1));
        cell(tr, value);
        parsed.appendChild(tr);
      });
    }
    replay.hidden = !(m.state === "failed" || m.state === "rejected");
    document.getElementById("replay-result").textContent = "";
  }

  replay.addEventListener("click", async () => {
    if (!current) return;
    const out = document.getElementById("replay-result");
    try {
      const body = await getJson("/api/v1/hl7/replay", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          // The session's CSRF token (docs/SECURITY.md), rendered in _session.html.
          "X-CSRFToken": (document.querySelector("[data-csrf]") || { dataset: {} }).dataset.csrf || "",
        },
        body: JSON.stringify({ ids: [current.id] }),
      });
      await show(current.id); // refreshes the state shown (and clears this line)
      out.textContent = "Replayed: " + body.results.map((r) => r.id + " " + r.code).join(", ");
    } catch (err) {
      out.textContent = "Replay failed: " + err.message;
    }
  });
  form.addEventListener("submit", search);
  document.getElementById("errors").addEventListener("click", errors);
  search();
})();

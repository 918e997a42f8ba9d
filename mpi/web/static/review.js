// The clerks' duplicate queue: one pair at a time, side by side, keyboard first.
// 1/2 keep A/B (merge the other into it), N not a duplicate, D defer, J/K next/previous,
// U undo the last merge. Clicking a value on the non-surviving side takes that value.
"use strict";
(function () {
  const API = "/api/v1/mpi";
  const FIELD_OF = { forename: "given_names", middle_names: "given_names", surname: "family_name",
    dob: "date_of_birth", address: "address", sex: "sex", nhs_number: "nhs_number" };
  let pairs = [], index = 0, take = { a: new Set(), b: new Set() }, lastMerge = null;
  const $ = (id) => document.getElementById(id);

  async function call(method, url, body) {
    const res = await fetch(url, { method, headers: { "Content-Type": "application/json",
      // The session's CSRF token (docs/SECURITY.md), rendered in _session.html.
      "X-CSRFToken": (document.querySelector("[data-csrf]") || { dataset: {} }).dataset.csrf || "" },
      body: body ? JSON.stringify(body) : undefined });
    const data = await res.json();
    if (!res.ok) throw new Error(data.detail || data.title || res.statusText);
    return data;
  }

  async function load() {
    const data = await call("GET", `${API}/review?limit=200`);
    pairs = data.pairs;
    if (index >= pairs.length) index = Math.max(0, pairs.length - 1);
    render(`${data.total} pair(s) waiting`);
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function render(status) {
    $("queue-status").textContent = status || "";
    const pair = pairs[index];
    $("pair").hidden = !pair;
    $("empty").hidden = !!pair;
    if (!pair) return;
    take = { a: new Set(), b: new Set() };
    const d = pair.decision, a = pair.patient_a, b = pair.patient_b;
    $("pair-score").textContent = `Pair ${index + 1} of ${pairs.length} · score ${d.score} bits (${d.zone}) · found by ${pair.found_by}`;
    $("pair-vetoes").innerHTML = "";
    for (const v of d.vetoes || []) {
      const s = document.createElement("span"); s.className = "veto"; s.textContent = `⚠ ${v.reason}`;
      $("pair-vetoes").appendChild(s);
    }
    $("head-a").textContent = `A: #${a.id}` + (a.in_hospital ? " (in hospital)" : "");
    $("head-b").textContent = `B: #${b.id}` + (b.in_hospital ? " (in hospital)" : "");
    const body = $("compare-body");
    body.innerHTML = "";
    for (const row of d.explanation) {
      const tr = document.createElement("tr");
      if (row.level !== "exact" && row.level !== "missing") tr.className = row.weight < 0 ? "conflict" : "differs";
      cell(tr, row.field);
      for (const side of ["a", "b"]) {
        const td = cell(tr, side === "a" ? row.value_a : row.value_b, "value");
        td.dataset.side = side;
        td.dataset.field = FIELD_OF[row.field] || row.field;
        td.title = "Click to keep this value";
        td.addEventListener("click", () => toggle(td));
      }
      cell(tr, row.weight, "weight " + (row.weight >= 0 ? "pos" : "neg"));
      cell(tr, row.description + (row.note ? ` — ${row.note}` : ""));
      body.appendChild(tr);
    }
    for (const [label, field] of [["Postcode", "postcode"], ["Identifiers", "identifiers"], ["Previous names", "previous_names"]]) {
      const tr = document.createElement("tr");
      cell(tr, label);
      for (const p of [a, b]) {
        let v = p[field];
        if (field === "identifiers") v = v.map((i) => `${i.authority} ${i.value}${i.valid ? "" : " (invalid)"}`).join("; ");
        if (field === "previous_names") v = v.map((n) => `${n.family_name} ${n.given_names}`).join("; ");
        cell(tr, v, "value");
      }
      cell(tr, ""); cell(tr, "");
      body.appendChild(tr);
    }
  }

  function toggle(td) {
    const set = take[td.dataset.side], f = td.dataset.field;
    if (set.has(f)) { set.delete(f); td.classList.remove("taken"); } else { set.add(f); td.classList.add("taken"); }
  }

  async function act(kind) {
    const pair = pairs[index];
    if (!pair) return;
    try {
      if (kind === "a" || kind === "b") {
        const survivor = kind === "a" ? pair.patient_a.id : pair.patient_b.id;
        const other = kind === "a" ? "b" : "a";
        const res = await call("POST", `${API}/review/${pair.id}/merge`,
          { survivor_id: survivor, take_from_merged: [...take[other]] });
        lastMerge = res.merge_id;
        $("btn-undo").disabled = false;
        await load(); $("queue-status").textContent += ` · merged #${res.merged_id} into #${survivor}`;
      } else if (kind === "n") {
        await call("POST", `${API}/review/${pair.id}/not-duplicate`, {});
        await load();
      } else if (kind === "d") {
        await call("POST", `${API}/review/${pair.id}/defer`, {});
        await load();
      }
    } catch (err) { $("queue-status").textContent = `Not done: ${err.message}`; }
  }

  async function undo() {
    if (!lastMerge) return;
    try {
      await call("POST", `${API}/merges/${lastMerge}/unmerge`, {});
      lastMerge = null; $("btn-undo").disabled = true;
      await load(); $("queue-status").textContent += " · last merge undone";
    } catch (err) { $("queue-status").textContent = `Not undone: ${err.message}`; }
  }

  const keys = { "1": () => act("a"), "2": () => act("b"), n: () => act("n"), d: () => act("d"),
    j: () => { if (index < pairs.length - 1) index++; render(); },
    k: () => { if (index > 0) index--; render(); }, u: undo };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const fn = keys[e.key.toLowerCase()];
    if (fn) { e.preventDefault(); fn(); }
  });
  $("btn-keep-a").addEventListener("click", () => act("a"));
  $("btn-keep-b").addEventListener("click", () => act("b"));
  $("btn-not-dup").addEventListener("click", () => act("n"));
  $("btn-defer").addEventListener("click", () => act("d"));
  $("btn-next").addEventListener("click", keys.j);
  $("btn-prev").addEventListener("click", keys.k);
  $("btn-undo").addEventListener("click", undo);
  load().catch((err) => { $("queue-status").textContent = `Cannot load the queue: ${err.message}`; });
})();

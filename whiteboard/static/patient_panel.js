/* Patient panel for signed-in staff: click a patient on the board, see the plan and alerts,
 * and record the clinician actions (VTE, observations, EDD and discharge plan, criteria to
 * reside, referrals, decision to admit, acknowledging a result). Every form posts to /api/v1/ and the board itself
 * updates from the server's push, exactly as after an HL7 message; refusals (EDD gating)
 * show the server's reason. Also draws the A&E breach list or the beds due free from each
 * snapshot. Kept apart from board.js, which only tells us about snapshots (board:updated). */
(function () {
  'use strict';

  const root = document.getElementById('board');
  const dialog = document.getElementById('patient-panel');
  const extras = document.getElementById('board-extras');
  if (!root || !dialog) {
    return;
  }
  const NEEDS = ['physiotherapy', 'dietary_monitoring', 'social_services', 'district_nursing'];

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) {
        node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function field(label, name, attrs) {
    return h('label', {}, label, h('input', Object.assign({ name: name }, attrs || {})));
  }

  function select(label, name, options, value) {
    const s = h('select', { name: name });
    for (const [v, text] of options) {
      s.append(h('option', { value: v, selected: String(v) === String(value) }, text));
    }
    return h('label', {}, label, s);
  }

  // Every cookie-authenticated write carries the session's CSRF token (docs/SECURITY.md).
  function csrfToken() {
    const el = document.querySelector('[data-csrf]');
    return el ? el.dataset.csrf : '';
  }

  async function send(method, url, body) {
    const resp = await fetch(url, {
      method: method,
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'X-CSRFToken': csrfToken(),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await resp.json().catch(() => ({}));
    return { ok: resp.ok, status: resp.status, data: data };
  }

  function numberOrNull(v) {
    return v === '' || v === null ? null : Number(v);
  }

  function form(name, title, fields, toBody, method, url) {
    const f = h('form', { 'data-action': name }, h('fieldset', {}, ...fields));
    f.append(h('button', { type: 'submit' }, title));
    f.addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(new FormData(f).entries());
      values.__all = new FormData(f);
      const result = await send(method, url, toBody(values));
      const msg = dialog.querySelector('.panel-message');
      if (result.ok) {
        msg.dataset.kind = 'ok';
        msg.textContent = title + ': recorded';
        open(currentStay); // refresh the panel; the board refreshes itself from the push
      } else {
        msg.dataset.kind = 'error';
        msg.textContent = (result.data && (result.data.detail || result.data.title)) || 'HTTP ' + result.status;
      }
    });
    return f;
  }

  let currentStay = null;

  async function open(stayId) {
    currentStay = stayId;
    const result = await send('GET', '/api/v1/stays/' + stayId);
    if (!result.ok) {
      return;
    }
    const p = result.data;
    const plan = p.plan || {};
    const base = '/api/v1/stays/' + stayId;
    const message = dialog.querySelector('.panel-message');
    const keep = message ? [message.dataset.kind, message.textContent] : ['', ''];
    dialog.replaceChildren();
    dialog.dataset.stay = String(stayId);
    dialog.append(
      h('h2', { id: 'panel-title' }, p.patient.display_name + ' · ' + p.ward),
      h('p', { class: 'panel-message', 'data-kind': keep[0] }, keep[1]),
      h('p', {}, 'EDD: ' + (plan.edd ? plan.edd + (plan.edd_time ? ' ' + plan.edd_time : '') : 'none') +
        (p.status === 'inpatient' ? (p.edd_current ? ' (current)' : ' (NOT current: set or review it)') : '') +
        ' · Pathway: ' + (plan.pathway === null || plan.pathway === undefined ? '–' : plan.pathway) +
        ' · NEWS2: ' + (p.observations && p.observations.news2_total !== null
          ? p.observations.news2_total + ' (' + p.observations.news2_band + ')' : '–')),
      h('ul', { class: 'panel-alerts' }, ...p.alerts.map((a) =>
        h('li', { 'data-alert': a.code, 'data-level': a.level }, '[' + a.symbol + '] ' + a.label + ': ' + a.detail))),
    );
    // Reported results nobody has acknowledged: a doctor takes them on (named, audited).
    for (const o of p.orders || []) {
      if (o.reported_at && !o.acknowledged_at && o.ref.startsWith('result-')) {
        const id = o.ref.slice('result-'.length);
        dialog.append(form('ack-' + id, 'Acknowledge ' + (o.description || 'result'), [],
          () => ({}), 'POST', '/api/v1/results/' + id + '/acknowledge'));
      }
    }
    if (p.status === 'emergency') {
      dialog.append(form('dta', 'Decision to admit', [], () => ({}), 'POST', base + '/decision-to-admit'));
    } else {
      dialog.append(
        form('vte', 'Record VTE assessment', [field('Outcome', 'outcome')],
          (v) => ({ outcome: v.outcome }), 'POST', base + '/vte-assessments'),
        form('obs', 'Record observations', [
          field('Resp rate', 'respiration_rate', { type: 'number' }),
          field('SpO2 %', 'spo2', { type: 'number' }),
          select('Scale', 'spo2_scale', [[1, '1'], [2, '2']], 1),
          select('Air/O2', 'on_oxygen', [['false', 'Air'], ['true', 'Oxygen']], 'false'),
          field('Systolic BP', 'systolic_bp', { type: 'number' }),
          field('Pulse', 'pulse', { type: 'number' }),
          select('ACVPU', 'consciousness', [['A', 'A'], ['C', 'C'], ['V', 'V'], ['P', 'P'], ['U', 'U']], 'A'),
          field('Temp °C', 'temperature', { type: 'number', step: '0.1' }),
        ], (v) => ({
          respiration_rate: numberOrNull(v.respiration_rate), spo2: numberOrNull(v.spo2),
          spo2_scale: Number(v.spo2_scale), on_oxygen: v.on_oxygen === 'true',
          systolic_bp: numberOrNull(v.systolic_bp), pulse: numberOrNull(v.pulse),
          consciousness: v.consciousness, temperature: numberOrNull(v.temperature),
        }), 'POST', base + '/observations'),
        form('plan', 'Set / review EDD', [
          field('EDD', 'edd', { type: 'date', value: plan.edd || '', required: true }),
          field('Expected time', 'edd_time', { type: 'time', value: plan.edd_time || '' }),
          select('Pathway', 'pathway', [['', '–'], [0, '0'], [1, '1'], [2, '2'], [3, '3']], plan.pathway ?? ''),
          field('Discharge criteria', 'discharge_criteria', { value: plan.discharge_criteria || '' }),
          ...NEEDS.map((n) => h('label', {}, n.replace('_', ' '), h('input', {
            type: 'checkbox', name: 'needs', value: n,
            checked: (plan.post_discharge_needs || []).includes(n),
          }))),
        ], (v) => ({
          edd: v.edd, edd_time: v.edd_time || null, pathway: numberOrNull(v.pathway),
          discharge_criteria: v.discharge_criteria, post_discharge_needs: v.__all.getAll('needs'),
        }), 'PUT', base + '/discharge-plan'),
        form('ctr', 'Set criteria to reside', [
          field('Codes (comma-separated)', 'codes', { value: (plan.criteria_to_reside || []).join(',') }),
        ], (v) => ({ codes: v.codes.split(',').map((c) => c.trim()).filter(Boolean) }),
        'PUT', base + '/criteria-to-reside'),
        form('referral', 'Make referral', [
          select('Need', 'need', NEEDS.map((n) => [n, n.replace('_', ' ')]), NEEDS[0]),
        ], (v) => ({ need: v.need }), 'POST', base + '/referrals'),
      );
    }
    // Ordering a blood test or x-ray, and the full record, are on the patient page.
    dialog.append(h('p', {}, h('a', { href: '/patients/' + p.patient.id, 'data-action': 'record' },
      'Patient record: orders, results, order a test')));
    dialog.append(h('button', { type: 'button', 'data-close': true }, 'Close'));
    dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close());
    if (!dialog.open) {
      dialog.showModal();
    }
  }

  root.addEventListener('click', (event) => {
    const row = event.target.closest('[data-patient-key]');
    const key = row && row.dataset.patientKey;
    if (key && key.startsWith('s-')) {
      open(Number(key.slice(2)));
    }
  });

  function renderExtras(snapshot) {
    if (!extras) {
      return;
    }
    const parts = [];
    if (snapshot.breaches) {
      const items = snapshot.breaches.items || [];
      parts.push(h('div', { 'data-extra': 'breaches' }, h('h3', {}, 'Breaches this shift: ' + items.length),
        ...items.map((b) => h('span', { 'data-breach': b.code }, ' ' + b.label + ' – ' +
          (b.responsible ? b.responsible.name : 'no doctor recorded') + ';'))));
    }
    if (snapshot.beds_due_free) {
      for (const day of ['today', 'tomorrow']) {
        const beds = snapshot.beds_due_free[day] || [];
        parts.push(h('div', { 'data-extra': 'due-' + day }, h('h3', {}, 'Due free ' + day + ':'),
          beds.map((b) => b.bed + (b.expected_time ? ' ' + b.expected_time : '')).join(', ') || 'none'));
      }
    }
    extras.replaceChildren(...parts);
  }

  root.addEventListener('board:updated', (event) => {
    renderExtras(event.detail.snapshot || {});
  });
})();

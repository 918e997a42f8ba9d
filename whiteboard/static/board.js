/*
 * Wardboard live ward board.
 *
 * The board is trusted at a glance from across a room, so it must never look live when it is
 * not: it says how fresh its data is every second, turns amber while reconnecting and red (with a
 * banner) once it has been cut off for 30 s. It re-syncs by itself: socket.io reconnects, the
 * client re-joins its ward room and re-fetches the snapshot over HTTP.
 *
 * Everything arriving from the server is shown with textContent / setAttribute only, never
 * innerHTML: patient names come from HL7 feeds and may contain markup.
 *
 * Configuration comes from data- attributes on #board (no inline script, so a strict
 * Content-Security-Policy can forbid them). Contract: docs/BOARD_UI.md.
 */
(function () {
  'use strict';

  const root = document.getElementById('board');
  if (!root) {
    return;
  }

  const STALE_AFTER_MS = 30 * 1000; // disconnected this long: red, banner
  const REFETCH_EVERY_MS = 60 * 1000; // belt and braces against a lost push
  const UNCONFIRMED_AFTER_MS = 3 * REFETCH_EVERY_MS; // connected but nothing heard: amber
  const SKEW_CORRECT_MS = 2000; // ignore server-clock differences smaller than the Date header's
  const FIT_MIN = 0.55;
  const FIT_MIN_PX = 11; // below this a desk screen scrolls rather than shrink further
  const FIT_MAX_LIST = 1.0; // larger would squeeze the name column rather than help
  const FIT_MAX_BEDS = 1.15;

  const LEVEL_RANK = { purple: 4, red: 3, amber: 2, info: 1 };
  const BED_STATE = {
    U: 'Free',
    O: 'Occupied',
    H: 'Needs cleaning',
    K: 'Contaminated',
    I: 'Isolation',
    C: 'Closed',
  };
  const BED_STATE_SHORT = {
    U: 'Free',
    O: 'Occupied',
    H: 'Cleaning',
    K: 'Contam.',
    I: 'Isolation',
    C: 'Closed',
  };

  function intAttr(name, fallback) {
    const value = parseInt(root.getAttribute(name) || '', 10);
    return Number.isFinite(value) ? value : fallback;
  }

  const cfg = {
    ward: root.dataset.ward || '',
    kind: root.dataset.kind === 'ae' ? 'ae' : 'ward',
    snapshotUrl: root.dataset.snapshotUrl || '',
    namespace: root.dataset.socketNamespace || '/board',
    socketPath: root.dataset.socketPath || '/socket.io',
    timezone: root.dataset.timezone || 'Europe/London',
    aeWarnMinutes: intAttr('data-ae-warn-minutes', 180),
    aeBreachMinutes: intAttr('data-ae-breach-minutes', 240),
    aeLongWaitMinutes: intAttr('data-ae-long-wait-minutes', 720),
    showIdentifiers: root.dataset.showIdentifiers === 'true',
  };

  const state = {
    snapshot: null,
    version: -1,
    acceptAnyVersion: true, // first snapshot after page load or a reconnect is always applied
    connected: false,
    everConnected: false,
    lostAt: Date.now(), // when the link was last lost (page load counts as lost)
    lastHeardAt: null, // last time a snapshot at least as new as the shown one arrived
    refusal: null, // message from board_error or an HTTP error
    skewMs: 0, // server clock minus this screen's clock, from the HTTP Date header
    tickers: [],
    resyncing: false, // a patch did not fit: the whole board has been asked for
    resyncs: 0,
  };

  const el = {
    wardName: document.getElementById('ward-name'),
    freshness: document.getElementById('freshness'),
    freshnessState: document.getElementById('freshness-state'),
    freshnessDetail: document.getElementById('freshness-detail'),
    clockHm: document.getElementById('clock-hm'),
    clockS: document.getElementById('clock-s'),
    clockDate: document.getElementById('clock-date'),
    banner: document.getElementById('stale-banner'),
    bannerText: document.getElementById('stale-banner-text'),
    bays: document.getElementById('bays'),
    patientsFit: document.getElementById('patients-fit'),
    patients: document.getElementById('patients'),
    patientsHead: document.getElementById('patients-head'),
    patientsBody: document.getElementById('patients-body'),
    patientsEmpty: document.getElementById('patients-empty'),
    patientsSummary: document.getElementById('patients-summary'),
    legendSymbols: document.getElementById('legend-symbols'),
  };

  /* ---------- time ---------- */

  function now() {
    return Date.now() + state.skewMs;
  }

  let formatters = null;
  let formattersZone = null;

  function fmt() {
    if (formatters && formattersZone === cfg.timezone) {
      return formatters;
    }
    let zone = cfg.timezone;
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    } catch (err) {
      zone = 'Europe/London';
    }
    formattersZone = cfg.timezone;
    formatters = {
      clock: new Intl.DateTimeFormat('en-GB', {
        timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
      }),
      hm: new Intl.DateTimeFormat('en-GB', {
        timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
      }),
      date: new Intl.DateTimeFormat('en-GB', {
        timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
      }),
      weekday: new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short' }),
      dayMonth: new Intl.DateTimeFormat('en-GB', { timeZone: zone, day: 'numeric', month: 'short' }),
      ymd: new Intl.DateTimeFormat('en-CA', {
        timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
      }),
    };
    return formatters;
  }

  function parseTime(iso) {
    if (typeof iso !== 'string' || iso === '') {
      return null;
    }
    const ms = Date.parse(iso);
    return Number.isFinite(ms) ? ms : null;
  }

  function localDayNumber(ms) {
    // Days since the epoch of the local calendar date, to say "today" / "Sat" correctly.
    const parts = fmt().ymd.format(new Date(ms)).split('-');
    return Math.round(Date.UTC(+parts[0], +parts[1] - 1, +parts[2]) / 86400000);
  }

  function formatWhen(ms) {
    // Today: "05:10"; this week: "Sat 05:10"; older: "14 Nov".
    const f = fmt();
    const hm = f.hm.format(new Date(ms));
    const days = localDayNumber(now()) - localDayNumber(ms);
    if (days === 0) {
      return hm;
    }
    if (days > 0 && days < 7) {
      return f.weekday.format(new Date(ms)) + ' ' + hm;
    }
    return f.dayMonth.format(new Date(ms)); // the stay column gives the length precisely
  }

  function formatDuration(ms) {
    // "35 m", "4 h 10 m", "2 d 4 h": length of stay / time since arrival.
    const minutes = Math.max(0, Math.floor(ms / 60000));
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    const mins = minutes % 60;
    if (days > 0) {
      return days + ' d ' + hours + ' h';
    }
    if (hours > 0) {
      return hours + ' h ' + mins + ' m';
    }
    return mins + ' m';
  }

  function formatAgo(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) {
      return seconds + ' s ago';
    }
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + ' min ago';
    }
    return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min ago';
  }

  /* ---------- DOM building (textContent only) ---------- */

  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function alertIcon(level, symbol, title) {
    const icon = h('span', 'alert-icon alert--' + level);
    icon.appendChild(h('span', 'alert-symbol', symbol));
    if (title) {
      icon.setAttribute('title', title);
    }
    return icon;
  }

  function normLevel(level) {
    return Object.prototype.hasOwnProperty.call(LEVEL_RANK, level) ? level : 'info';
  }

  function sortedAlerts(alerts) {
    const list = Array.isArray(alerts) ? alerts.slice() : [];
    return list.sort(
      (a, b) => (LEVEL_RANK[normLevel(b && b.level)] || 0) - (LEVEL_RANK[normLevel(a && a.level)] || 0),
    );
  }

  function symbolOf(alert) {
    const raw = alert && (alert.symbol || alert.code || alert.label);
    return raw ? String(raw).slice(0, 2) : '!';
  }

  /* ---------- header ---------- */

  function renderCounts(beds) {
    const counts = beds || {};
    for (const key of ['free', 'occupied', 'cleaning', 'closed', 'total']) {
      const node = root.querySelector('[data-count="' + key + '"]');
      if (node) {
        const value = counts[key];
        node.textContent = Number.isFinite(value) ? String(value) : '–';
        node.parentElement.classList.toggle('bed-count--zero', value === 0);
      }
    }
  }

  /* ---------- bed layout ---------- */

  function renderBays(snapshot, patientsByKey) {
    const bays = Array.isArray(snapshot.bays) ? snapshot.bays : [];
    const frag = document.createDocumentFragment();
    for (const bay of bays) {
      const beds = Array.isArray(bay && bay.beds) ? bay.beds : [];
      const box = h('div', 'bay');
      box.dataset.bay = bay.code || '';
      box.appendChild(h('h3', 'bay-name', bay.name || bay.code || 'Beds'));
      const grid = h('div', 'bay-beds');
      for (const bed of beds) {
        grid.appendChild(renderBed(bed, patientsByKey));
      }
      box.appendChild(grid);
      box.classList.toggle('bay--wide', beds.length > 8);
      frag.appendChild(box);
    }
    if (bays.length === 0) {
      frag.appendChild(h('p', 'bays-empty', 'No beds are laid out for this board.'));
    }
    el.bays.replaceChildren(frag);
    el.bays.classList.toggle('bays--single', bays.length <= 1);
  }

  function renderBed(bed, patientsByKey) {
    const status = typeof bed.status === 'string' && bed.status ? bed.status : 'U';
    const known = Object.prototype.hasOwnProperty.call(BED_STATE, status);
    const stateText = known ? BED_STATE[status] : bed.status_text || status;
    const tile = h('div', 'bed bed--' + (known ? status : 'unknown'));
    tile.dataset.bed = bed.code || bed.label || '';
    tile.dataset.status = status;
    tile.setAttribute('title', (bed.label || bed.code || '') + ': ' + stateText);
    const patient = bed.patient ? patientsByKey.get(bed.patient) : null;

    const top = h('div', 'bed-top');
    top.appendChild(h('span', 'bed-label', bed.label || bed.code || '?'));
    tile.appendChild(top);

    if (bed.patient || status === 'O') {
      // A patient in the bed: the name is what matters; an unusual state (isolation,
      // contaminated) is tagged beside the bed label so it is not lost.
      tile.classList.add('bed--has-patient');
      if (bed.patient) {
        tile.dataset.patient = bed.patient;
      }
      if (status !== 'O') {
        const tag = h('span', 'bed-state');
        tag.appendChild(h('span', 'bed-state-mark'));
        tag.appendChild(document.createTextNode(known ? BED_STATE_SHORT[status] : stateText));
        top.appendChild(tag);
      }
      if (patient && patient.on_leave_since) {
        // On leave of absence: the bed is theirs, the patient is not on the ward (text, not
        // only colour).
        tile.classList.add('bed--on-leave');
        tile.dataset.onLeave = 'true';
        top.appendChild(h('span', 'pill pill--leave', 'On leave'));
      }
      const name = patient ? patient.display_name || '(no name)' : 'Occupied';
      tile.appendChild(h('span', 'bed-patient' + (patient ? '' : ' bed-patient--unknown'), name));
      const worst = patient ? sortedAlerts(patient.alerts)[0] : null;
      if (worst && normLevel(worst.level) !== 'info') {
        const marker = h('span', 'bed-alert alert-icon alert--' + normLevel(worst.level));
        marker.appendChild(h('span', 'alert-symbol', symbolOf(worst)));
        top.appendChild(marker);
      }
    } else {
      const line = h('span', 'bed-patient bed-patient--state');
      line.appendChild(h('span', 'bed-state-mark'));
      line.appendChild(document.createTextNode(stateText));
      tile.appendChild(line);
    }
    return tile;
  }

  /* ---------- patient list ---------- */

  const COLUMNS = {
    ward: [
      ['bed', 'Bed'],
      ['name', 'Patient'],
      ['age', 'Age'],
      ['admitted', 'Admitted'],
      ['stay', 'Stay'],
      ['doctor', 'Doctor'],
      ['alerts', 'Alerts'],
    ],
    ae: [
      ['wait', 'Waiting'],
      ['name', 'Patient'],
      ['age', 'Age'],
      ['admitted', 'Arrived'],
      ['bed', 'Where'],
      ['doctor', 'Doctor'],
      ['alerts', 'Alerts'],
    ],
  };

  function renderHead() {
    // Column widths live on <col> so they are in the table's em (which fit() scales), not the
    // smaller heading text's.
    const cols = h('colgroup');
    for (const [key] of COLUMNS[cfg.kind]) {
      cols.appendChild(h('col', 'col-' + key));
    }
    el.patients.insertBefore(cols, el.patientsHead);
    const row = h('tr');
    for (const [key, title] of COLUMNS[cfg.kind]) {
      const th = h('th', 'col-' + key, title);
      th.setAttribute('scope', 'col');
      row.appendChild(th);
    }
    el.patientsHead.replaceChildren(row);
  }

  function orderPatients(snapshot) {
    const patients = (Array.isArray(snapshot.patients) ? snapshot.patients : []).filter(
      (p) => p && typeof p === 'object',
    );
    const arrived = (p) => {
      const ms = parseTime(p.admitted_at);
      return ms === null ? Number.MAX_SAFE_INTEGER : ms;
    };
    if (cfg.kind === 'ae') {
      // Longest wait first: that is who needs attention.
      return patients.sort((a, b) => arrived(a) - arrived(b));
    }
    // Ward: in bed order as laid out, then those without a bed, then visiting outpatients.
    const position = new Map();
    let i = 0;
    for (const bay of Array.isArray(snapshot.bays) ? snapshot.bays : []) {
      for (const bed of Array.isArray(bay && bay.beds) ? bay.beds : []) {
        if (bed.patient && !position.has(bed.patient)) {
          position.set(bed.patient, i);
        }
        i += 1;
      }
    }
    const group = (p) => {
      if (p.status === 'outpatient') {
        return 2;
      }
      return position.has(p.key) || p.bed ? 0 : 1;
    };
    const pos = (p) => (position.has(p.key) ? position.get(p.key) : Number.MAX_SAFE_INTEGER);
    return patients.sort(
      (a, b) => group(a) - group(b) || pos(a) - pos(b) || arrived(a) - arrived(b),
    );
  }

  function cellBed(p) {
    const td = h('td', 'col-bed');
    if (p.status === 'outpatient') {
      td.appendChild(h('span', 'pill pill--visiting', 'Visiting'));
      if (p.bed) {
        td.appendChild(h('span', 'bed-ref bed-ref--small', p.bed));
      }
    } else if (p.bed) {
      td.appendChild(h('span', 'bed-ref', p.bed));
    } else {
      td.appendChild(h('span', 'pill pill--nobed', cfg.kind === 'ae' ? 'No cubicle' : 'No bed'));
    }
    if (p.on_leave_since) {
      const since = parseTime(p.on_leave_since);
      const pill = h('span', 'pill pill--leave', 'On leave');
      if (since !== null) {
        pill.setAttribute('title', 'On leave since ' + formatWhen(since));
      }
      td.appendChild(pill);
    }
    return td;
  }

  function cellName(p) {
    const td = h('td', 'col-name');
    td.appendChild(h('span', 'patient-name', p.display_name || '(no name)'));
    if (cfg.showIdentifiers && p.hospital_number) {
      td.appendChild(h('span', 'patient-id', p.hospital_number));
    }
    return td;
  }

  function cellAge(p) {
    const parts = [];
    if (Number.isFinite(p.age)) {
      parts.push(String(p.age));
    }
    if (p.sex) {
      parts.push(String(p.sex));
    }
    return h('td', 'col-age', parts.length ? parts.join(' ') : '–');
  }

  function cellDoctor(p) {
    const name = p.doctor && (p.doctor.name || p.doctor.code);
    const td = h('td', 'col-doctor', name || 'No doctor');
    if (!name) {
      td.classList.add('is-missing');
    }
    return td;
  }

  function cellAlerts(p) {
    const td = h('td', 'col-alerts');
    const wrap = h('div', 'alerts');
    for (const alert of sortedAlerts(p.alerts)) {
      if (!alert) {
        continue;
      }
      const level = normLevel(alert.level);
      const label = alert.label || alert.code || 'Alert';
      const item = h('span', 'alert alert-item--' + level);
      item.dataset.alert = alert.code || '';
      item.dataset.level = level;
      const title = alert.detail ? label + ': ' + alert.detail : label;
      item.setAttribute('title', title);
      item.appendChild(alertIcon(level, symbolOf(alert)));
      item.appendChild(h('span', 'alert-label', label));
      wrap.appendChild(item);
    }
    td.appendChild(wrap);
    return td;
  }

  function ticking(kind, node, sinceMs, row) {
    if (sinceMs !== null) {
      state.tickers.push({ kind: kind, node: node, since: sinceMs, row: row });
    }
  }

  function renderPatients(snapshot) {
    state.tickers = [];
    const patients = orderPatients(snapshot);
    const body = document.createDocumentFragment();
    let noBed = 0;
    let visiting = 0;
    for (const p of patients) {
      const row = h('tr', 'patient');
      row.dataset.patientKey = p.key || '';
      row.dataset.patientStatus = p.status || '';
      row.dataset.patientBed = p.bed || '';
      if (p.on_leave_since) {
        row.dataset.onLeave = 'true';
        row.classList.add('patient--on-leave');
      }
      if (p.status === 'outpatient') {
        row.classList.add('patient--visiting');
        visiting += 1;
      } else if (!p.bed) {
        noBed += 1;
      }
      const since = parseTime(p.admitted_at);
      for (const [key] of COLUMNS[cfg.kind]) {
        if (key === 'bed') {
          row.appendChild(cellBed(p));
        } else if (key === 'name') {
          row.appendChild(cellName(p));
        } else if (key === 'age') {
          row.appendChild(cellAge(p));
        } else if (key === 'admitted') {
          row.appendChild(h('td', 'col-admitted', since === null ? '–' : formatWhen(since)));
        } else if (key === 'stay') {
          const td = h('td', 'col-stay');
          ticking('stay', td, since, row);
          row.appendChild(td);
        } else if (key === 'wait') {
          const td = h('td', 'col-wait');
          const box = h('span', 'wait');
          box.appendChild(h('span', 'wait-mark'));
          const text = h('span', 'wait-text');
          box.appendChild(text);
          box.appendChild(h('span', 'wait-flag'));
          td.appendChild(box);
          ticking('wait', text, since, row);
          row.appendChild(td);
        } else if (key === 'doctor') {
          row.appendChild(cellDoctor(p));
        } else if (key === 'alerts') {
          row.appendChild(cellAlerts(p));
        }
      }
      body.appendChild(row);
    }
    el.patientsBody.replaceChildren(body);
    el.patientsEmpty.hidden = patients.length > 0;

    const parts = [patients.length + (patients.length === 1 ? ' patient' : ' patients')];
    if (noBed) {
      parts.push(noBed + (cfg.kind === 'ae' ? ' not in a cubicle' : ' without a bed'));
    }
    if (visiting) {
      parts.push(visiting + ' visiting');
    }
    el.patientsSummary.textContent = parts.join(' · ');
  }

  function renderLegendSymbols(snapshot) {
    const seen = new Map();
    for (const p of Array.isArray(snapshot.patients) ? snapshot.patients : []) {
      for (const alert of sortedAlerts(p && p.alerts)) {
        if (!alert) {
          continue;
        }
        const symbol = symbolOf(alert);
        const label = alert.label || alert.code || '';
        const key = symbol + '\u0000' + label;
        if (!seen.has(key)) {
          seen.set(key, { symbol: symbol, label: label });
        }
      }
    }
    const frag = document.createDocumentFragment();
    const items = Array.from(seen.values()).sort((a, b) => a.symbol.localeCompare(b.symbol));
    for (const item of items.slice(0, 12)) {
      const li = h('li');
      li.appendChild(h('span', 'legend-letter', item.symbol));
      li.appendChild(document.createTextNode(item.label));
      frag.appendChild(li);
    }
    el.legendSymbols.replaceChildren(frag);
  }

  /* ---------- ticking (every second, no server traffic) ---------- */

  function waitLevel(minutes) {
    if (minutes >= cfg.aeLongWaitMinutes) {
      return 'long';
    }
    if (minutes > cfg.aeBreachMinutes) {
      return 'breach';
    }
    if (minutes >= cfg.aeWarnMinutes) {
      return 'warn';
    }
    return 'ok';
  }

  const WAIT_FLAG = { ok: '', warn: '', breach: 'BREACH', long: '12 h+' };

  function tickDurations(t) {
    for (const tk of state.tickers) {
      const elapsed = t - tk.since;
      const text = formatDuration(elapsed);
      if (tk.node.textContent !== text) {
        tk.node.textContent = text;
      }
      if (tk.kind === 'wait') {
        const level = waitLevel(Math.floor(Math.max(0, elapsed) / 60000));
        if (tk.row.dataset.waitLevel !== level) {
          tk.row.dataset.waitLevel = level;
          const flag = tk.node.parentElement.querySelector('.wait-flag');
          flag.textContent = WAIT_FLAG[level];
        }
      }
    }
  }

  function tickClock(t) {
    const parts = fmt().clock.formatToParts(new Date(t));
    const get = (type) => (parts.find((x) => x.type === type) || { value: '--' }).value;
    el.clockHm.textContent = get('hour') + ':' + get('minute');
    el.clockS.textContent = ':' + get('second');
    el.clockDate.textContent = fmt().date.format(new Date(t)).replace(',', '');
  }

  function freshness(t) {
    // Returns [state, headline, detail, banner-or-null]
    if (state.refusal) {
      return ['refused', 'Not showing', state.refusal, 'This board cannot show this ward: ' + state.refusal];
    }
    const lastHeard = state.lastHeardAt;
    const lastText = lastHeard === null ? 'no data yet' : 'last update ' + fmt().hm.format(new Date(lastHeard)) + ', ' + formatAgo(t - lastHeard);
    if (state.connected) {
      if (state.snapshot === null) {
        return ['connecting', 'Connecting', 'waiting for data', null];
      }
      if (t - lastHeard > UNCONFIRMED_AFTER_MS) {
        return ['unconfirmed', 'Checking', 'no reply ' + formatAgo(t - lastHeard).replace(' ago', ''), null];
      }
      return ['live', 'Live', 'updated ' + formatAgo(t - lastHeard), null];
    }
    const lost = Date.now() - state.lostAt;
    if (lost < STALE_AFTER_MS) {
      const what = state.everConnected ? 'Reconnecting…' : 'Connecting…';
      return ['reconnecting', what, lastText, null];
    }
    const since = state.everConnected ? 'Connection lost ' + formatAgo(lost) + '. ' : 'Cannot reach the server. ';
    return [
      'stale',
      'NOT LIVE',
      lastText,
      'This board is not updating. ' + since + 'Information may be out of date: check the patient record.',
    ];
  }

  function tickFreshness(t) {
    const [name, headline, detail, banner] = freshness(t);
    if (root.dataset.freshness !== name) {
      root.dataset.freshness = name;
    }
    if (el.freshnessState.textContent !== headline) {
      el.freshnessState.textContent = headline;
    }
    if (el.freshnessDetail.textContent !== detail) {
      el.freshnessDetail.textContent = detail;
    }
    if (banner && el.bannerText.textContent !== banner) {
      el.bannerText.textContent = banner;
    }
    if (el.banner.hidden !== !banner) {
      el.banner.hidden = !banner;
      fit(); // the banner takes height from the panels
    }
  }

  function tick() {
    const t = now();
    tickClock(t);
    tickFreshness(t);
    tickDurations(t);
  }

  function scheduleTick() {
    tick();
    // Land just after the next whole second so the clock's seconds change evenly.
    setTimeout(scheduleTick, 1000 - (now() % 1000) + 20);
  }

  /* ---------- fit to the screen: no scrolling on a wall board ---------- */

  const lastScale = new WeakMap(); // box -> the scale the last fit chose

  function fitScale(box, content, max, setScale) {
    const rootPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    let lo = Math.min(max, Math.max(FIT_MIN, FIT_MIN_PX / rootPx));
    let hi = max;
    const fits = () => content.scrollHeight <= box.clientHeight + 1;
    // A push rarely changes how much fits: if the last scale still fits and one search step
    // larger does not, it is still the answer (two layouts instead of nine).
    const prev = lastScale.get(box);
    const step = (max - lo) / 128;
    if (prev !== undefined && prev < max) {
      setScale(Math.min(max, prev + step));
      if (!fits()) {
        setScale(prev);
        if (fits()) {
          return prev;
        }
      }
    }
    const best = searchScale(lo, hi, fits, setScale);
    lastScale.set(box, best);
    return best;
  }

  function searchScale(lo, hi, fits, setScale) {
    setScale(hi);
    if (fits()) {
      return hi;
    }
    for (let i = 0; i < 7; i += 1) {
      const mid = (lo + hi) / 2;
      setScale(mid);
      if (fits()) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    setScale(lo);
    return lo;
  }

  function fit() {
    fitScale(el.patientsFit, el.patientsFit, FIT_MAX_LIST, (s) => {
      el.patients.style.fontSize = (s * 100).toFixed(1) + '%';
    });
    // At the smallest size a very full ward may still not fit: let a desk PC scroll rather than
    // hide anyone.
    el.patientsFit.classList.toggle(
      'is-overflowing',
      el.patientsFit.scrollHeight > el.patientsFit.clientHeight + 1,
    );
    const bedsPanel = el.bays.parentElement;
    fitScale(bedsPanel, bedsPanel, FIT_MAX_BEDS, (s) => {
      el.bays.style.fontSize = (s * 100).toFixed(1) + '%';
    });
    bedsPanel.classList.toggle('is-overflowing', bedsPanel.scrollHeight > bedsPanel.clientHeight + 1);
    // Alerts that do not fit their cell lose their labels, least urgent first (the shapes and
    // letters remain and the key explains them) rather than being cut off.
    // Measure every row in one read pass, then change classes in one write pass: reading
    // widths between writes would lay the whole table out again for every row.
    const wraps = Array.from(el.patientsBody.querySelectorAll('.alerts'));
    for (const wrap of wraps) {
      for (const item of wrap.children) {
        item.classList.remove('alert--nolabel');
      }
    }
    const drops = wraps.map((wrap) => {
      let overflow = wrap.scrollWidth - wrap.clientWidth - 1;
      const items = Array.from(wrap.children);
      const drop = [];
      for (let i = items.length - 1; i >= 0 && overflow > 0; i -= 1) {
        const label = items[i].querySelector('.alert-label');
        overflow -= label ? label.offsetWidth : 0;
        drop.push(items[i]);
      }
      return drop;
    });
    for (const drop of drops) {
      for (const item of drop) {
        item.classList.add('alert--nolabel');
      }
    }
  }

  let fitTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(fitTimer);
    fitTimer = setTimeout(fit, 150);
  });

  /* ---------- applying snapshots ---------- */

  function applySnapshot(snapshot, version, source) {
    if (!snapshot || typeof snapshot !== 'object') {
      return false;
    }
    if (snapshot.ward && snapshot.ward.code && cfg.ward && snapshot.ward.code !== cfg.ward) {
      return false;
    }
    const v = Number.isFinite(version) ? version : Number(snapshot.version);
    const ver = Number.isFinite(v) ? v : 0;
    const forced = state.acceptAnyVersion;
    if (!forced && ver < state.version) {
      return false; // an older snapshot overtaken by a newer one
    }
    state.acceptAnyVersion = false;
    state.lastHeardAt = now();
    state.refusal = null;
    if (!forced && state.snapshot !== null && ver === state.version && source === 'http') {
      return true; // the periodic check confirms what is shown; nothing to redraw
    }
    const renderStarted = performance.now();
    state.snapshot = snapshot;
    state.version = ver;
    if (typeof snapshot.timezone === 'string' && snapshot.timezone) {
      cfg.timezone = snapshot.timezone;
    }
    if (snapshot.ward && snapshot.ward.name) {
      el.wardName.textContent = snapshot.ward.name;
      document.title = snapshot.ward.name + ' · Wardboard';
    }
    const patientsByKey = new Map();
    for (const p of Array.isArray(snapshot.patients) ? snapshot.patients : []) {
      if (p && p.key) {
        patientsByKey.set(p.key, p);
      }
    }
    renderCounts(snapshot.beds);
    renderBays(snapshot, patientsByKey);
    renderPatients(snapshot);
    renderLegendSymbols(snapshot);
    tick();
    fit();
    root.dataset.version = String(ver);
    // Listeners (patient_panel.js, the breach list) get the snapshot and the render time.
    const renderMs = performance.now() - renderStarted;
    root.dispatchEvent(
      new CustomEvent('board:updated', {
        detail: { version: ver, source: source, snapshot: snapshot, renderMs: renderMs },
      }),
    );
    return true;
  }

  let fetching = null;

  function fetchSnapshot() {
    if (!cfg.snapshotUrl) {
      return Promise.resolve();
    }
    if (fetching) {
      return fetching;
    }
    const started = Date.now();
    fetching = fetch(cfg.snapshotUrl, {
      cache: 'no-store',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    })
      .then((resp) => {
        noteServerClock(resp.headers.get('Date'), started, Date.now());
        if (resp.status === 401 || resp.status === 403 || resp.status === 404) {
          return resp
            .json()
            .catch(() => ({}))
            .then((body) => {
              state.refusal = (body && (body.detail || body.title || body.message)) || 'HTTP ' + resp.status;
              tick();
            });
        }
        if (!resp.ok) {
          throw new Error('HTTP ' + resp.status);
        }
        return resp.json().then((snap) => {
          applySnapshot(snap, Number(snap && snap.version), 'http');
        });
      })
      .catch(() => {
        // The socket's reconnection and the next periodic fetch will try again.
      })
      .finally(() => {
        fetching = null;
      });
    return fetching;
  }

  function noteServerClock(dateHeader, sentAt, receivedAt) {
    const server = Date.parse(dateHeader || '');
    if (!Number.isFinite(server)) {
      return;
    }
    // The Date header is truncated to the second: on average the true time is half a second on.
    const skew = server + 500 - (sentAt + receivedAt) / 2;
    if (Math.abs(skew - state.skewMs) > SKEW_CORRECT_MS) {
      state.skewMs = Math.abs(skew) > SKEW_CORRECT_MS ? skew : 0;
    }
  }

  /* ---------- patches (whiteboard/board/patch.py makes them; docs/BOARD_UI.md) ---------- */

  // The snapshot a patch turns the shown one into, or null when the patch was made against
  // another snapshot than the one shown (a missed push): then the whole board is asked for.
  function patched(snapshot, payload) {
    const patch = payload && payload.patch;
    if (!snapshot || !patch || payload.base !== snapshot.digest) {
      return null;
    }
    const out = Object.assign({}, snapshot, patch.set || {});
    for (const name of patch.drop || []) {
      delete out[name];
    }
    const lists = patch.lists || {};
    for (const name of Object.keys(lists)) {
      const entries = lists[name];
      const key = entries.key;
      const byKey = new Map();
      for (const item of Array.isArray(out[name]) ? out[name] : []) {
        byKey.set(item[key], item);
      }
      for (const item of entries.upsert || []) {
        byKey.set(item[key], item);
      }
      const order = entries.order || (Array.isArray(out[name]) ? out[name] : []).map((i) => i[key]);
      if (!order.every((k) => byKey.has(k))) {
        return null;
      }
      out[name] = order.map((k) => byKey.get(k));
    }
    return out;
  }

  /* ---------- socket ---------- */

  function connectSocket() {
    if (typeof window.io !== 'function') {
      return null;
    }
    const socket = window.io(cfg.namespace, {
      path: cfg.socketPath,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 10000,
    });

    socket.on('connect', () => {
      const reconnect = state.everConnected;
      state.connected = true;
      state.everConnected = true;
      state.acceptAnyVersion = true; // the server may have restarted and counted from 1 again
      root.dataset.connected = 'true';
      state.resyncing = true; // patches wait for the whole board that join sends
      socket.emit('join', { ward: cfg.ward });
      if (reconnect || state.snapshot === null) {
        fetchSnapshot();
      }
      tick();
    });

    socket.on('disconnect', (reason) => {
      state.connected = false;
      state.lostAt = Date.now();
      root.dataset.connected = 'false';
      if (reason === 'io server disconnect') {
        // The server closed us on purpose; socket.io will not retry by itself.
        setTimeout(() => socket.connect(), 5000);
      }
      tick();
    });

    socket.on('board', (payload) => {
      if (!payload || typeof payload !== 'object') {
        return;
      }
      if (payload.ward && payload.ward !== cfg.ward) {
        return;
      }
      state.resyncing = false;
      applySnapshot(payload.snapshot, Number(payload.version), 'socket');
    });

    socket.on('board_patch', (payload) => {
      if (!payload || typeof payload !== 'object' || (payload.ward && payload.ward !== cfg.ward)) {
        return;
      }
      if (state.resyncing) {
        return;
      }
      const next = patched(state.snapshot, payload);
      if (next === null) {
        state.resyncing = true;
        state.resyncs += 1;
        root.dataset.resyncs = String(state.resyncs);
        socket.emit('join', { ward: cfg.ward });
        return;
      }
      applySnapshot(next, Number(payload.version), 'socket');
    });

    socket.on('board_error', (payload) => {
      state.refusal = (payload && payload.message) || 'refused by the server';
      tick();
    });

    return socket;
  }

  /* ---------- start ---------- */

  renderHead();
  scheduleTick();
  fetchSnapshot();
  connectSocket();
  setInterval(() => {
    if (state.connected) {
      fetchSnapshot();
    }
  }, REFETCH_EVERY_MS);
})();

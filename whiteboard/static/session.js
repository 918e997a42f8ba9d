/*
 * Signed-on staff screens (security branch): "take out the smartcard and the screen goes blank".
 * Listens on the Socket.IO /session namespace for `session_ended` (card removed, signed off
 * elsewhere, account disabled) and blanks the page in place at once; also locks the screen
 * after data-idle-seconds without keyboard, mouse or touch input.
 */
(function () {
  'use strict';
  const el = document.getElementById('wardboard-session');
  if (!el) {
    return;
  }
  const idleMs = Math.max(1, Number(el.dataset.idleSeconds) || 900) * 1000;
  let ended = false;

  function blank(reason) {
    if (ended) {
      return;
    }
    ended = true;
    const main = document.createElement('main');
    main.className = 'session-locked';
    main.id = 'session-locked';
    main.dataset.reason = reason;
    const link = document.createElement('a');
    link.href = el.dataset.signonUrl + '?ended=' + encodeURIComponent(reason);
    link.textContent = reason === 'idle' ? 'Locked. Sign on again' : 'Signed off. Sign on again';
    main.appendChild(link);
    document.body.replaceChildren(main);
    document.body.className = 'session-ended';
    document.title = 'Wardboard';
    if (window.__wardboardSessionSocket) {
      window.__wardboardSessionSocket.disconnect();
    }
  }

  function lockForIdle() {
    const body = new URLSearchParams({ reason: 'idle', csrf_token: el.dataset.csrf });
    fetch(el.dataset.signoffUrl, {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      redirect: 'manual',
    }).catch(() => {});
    blank('idle');
  }

  let idleTimer = setTimeout(lockForIdle, idleMs);
  ['keydown', 'mousedown', 'mousemove', 'touchstart', 'wheel'].forEach((name) => {
    window.addEventListener(name, () => {
      clearTimeout(idleTimer);
      if (!ended) {
        idleTimer = setTimeout(lockForIdle, idleMs);
      }
    }, { passive: true });
  });

  function listen() {
    const socket = window.io('/session', { transports: ['websocket', 'polling'] });
    window.__wardboardSessionSocket = socket;
    socket.on('session_ended', (payload) => blank((payload && payload.reason) || 'ended'));
    socket.on('connect_error', (err) => {
      // Refused: the session is already over (ended while this page was offline).
      if (err && err.data && err.data.status === 401) {
        blank('ended');
      }
    });
  }

  if (typeof window.io === 'function') {
    listen();
  } else {
    const s = document.createElement('script');
    s.src = el.dataset.ioSrc;
    s.onload = listen;
    document.head.appendChild(s);
  }
})();

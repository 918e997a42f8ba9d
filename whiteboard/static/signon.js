/*
 * Sign-on page (security branch). USB card readers type the card number then Enter, like a
 * keyboard: Enter in the card field moves to the PIN rather than submitting a half-filled form.
 */
(function () {
  'use strict';
  const card = document.getElementById('card');
  const pin = document.getElementById('pin');
  if (!card || !pin) {
    return;
  }
  card.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && pin.value === '') {
      event.preventDefault();
      pin.focus();
    }
  });
})();

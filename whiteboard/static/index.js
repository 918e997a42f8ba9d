/*
 * Ward list: say when the counts were loaded, so a screen left on this page shows its age.
 * The page reloads itself every minute (meta refresh); this only labels it.
 */
(function () {
  'use strict';
  const target = document.getElementById('index-loaded');
  if (!target) {
    return;
  }
  const time = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date());
  target.textContent = 'Counts as of ' + time + ' · refreshed every minute';
})();

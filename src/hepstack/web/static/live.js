// Live parts of a page: an element with data-live="URL" is replaced every 2 s by the server-rendered HTML
// fragment at URL (same origin; the fragment is escaped by the server like every page). Polling stops
// once the fragment's matrix says the work is done. No build step, no library.
"use strict";
(function () {
  const PERIOD_MS = 2000;
  function done(part) {
    const matrix = part.querySelector("table.matrix");
    return matrix !== null && matrix.dataset.done === "true";
  }
  function watch(part) {
    if (done(part)) {
      return;
    }
    const timer = window.setInterval(async function () {
      try {
        const response = await fetch(part.dataset.live, { credentials: "same-origin", cache: "no-store" });
        if (!response.ok) {
          return;
        }
        part.innerHTML = await response.text();
        part.dataset.refreshed = String(Date.now());
        if (done(part)) {
          window.clearInterval(timer);
        }
      } catch (error) {
        // the server went away (stopped, restarted): keep the last counts on screen, try again later
      }
    }, PERIOD_MS);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(watch);
  });
})();

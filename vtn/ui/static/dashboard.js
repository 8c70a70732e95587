// transactive dashboard: live refresh of a page's #live section (no framework, nothing fetched but this page).
// A page whose <body> has data-live="N" is fetched again every N seconds (with the same cookie) and its #live
// element replaced by the new one; the footer shows when. Paused while the tab is hidden.
(function () {
  "use strict";
  var stamp = function () {
    var el = document.getElementById("refreshed");
    if (el) { el.textContent = new Date().toLocaleTimeString(); }
  };
  stamp();
  var seconds = Number(document.body.getAttribute("data-live"));
  if (!seconds || seconds <= 0) { return; }
  var busy = false;
  var refresh = function () {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (reply) { return reply.ok ? reply.text() : Promise.reject(reply.status); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        var old = document.getElementById("live");
        if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); stamp(); }
        document.body.classList.remove("stale");
      })
      .catch(function () { document.body.classList.add("stale"); })
      .then(function () { busy = false; });
  };
  window.setInterval(refresh, seconds * 1000);
}());

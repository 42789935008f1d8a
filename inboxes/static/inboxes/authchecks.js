// Live updates of the SPF/DKIM/DMARC panel and list markers.
//
// The page's live-update code dispatches each event it receives from
// /ws/inboxes/<id>/ as a DOM event:
//   document.dispatchEvent(new CustomEvent("maildog:message.checked", {detail: event}))
// where event is {"type": "message.checked", "message_id": 42, "verdict": "pass"}.
// The panel is then fetched again from the server (same access checks as the
// page); markers change their class and label in place.
(function () {
  "use strict";
  if (window.maildogAuthChecks) return;
  var LABELS = { pass: "Would pass", fail: "Would fail", none: "Not authenticated", temperror: "DNS error" };

  function updateMarkers(id, verdict) {
    document.querySelectorAll('[data-auth-marker-id="' + id + '"]').forEach(function (marker) {
      marker.className = "auth-marker auth-marker--" + (verdict || "pending");
      marker.textContent = LABELS[verdict] || "Checking…";
      marker.title = LABELS[verdict] || "";
    });
  }

  function refreshPanels(id) {
    document.querySelectorAll('[data-auth-message-id="' + id + '"][data-auth-panel-url]').forEach(function (panel) {
      fetch(panel.dataset.authPanelUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("[data-auth-panel-url]");
          if (fresh) panel.replaceWith(fresh);
        });
    });
  }

  function handle(event) {
    if (!event || event.type !== "message.checked") return;
    updateMarkers(event.message_id, event.verdict);
    refreshPanels(event.message_id);
  }

  window.maildogAuthChecks = { handle: handle };
  document.addEventListener("maildog:message.checked", function (e) { handle(e.detail); });
})();

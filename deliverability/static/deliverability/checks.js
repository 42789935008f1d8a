// Live updates of the SPF/DKIM/DMARC panel and list markers.
//
// A `message.checked` event ({"type": "message.checked", "message_id": 42,
// "verdict": "pass"}) updates markers in place and reloads panels from the
// server (same access checks as the page). Events arrive two ways:
// - a panel still waiting for its results listens on its inbox's websocket
//   (/ws/inboxes/<id>/) until they arrive;
// - other page code may pass events on with
//   document.dispatchEvent(new CustomEvent("maildog:message.checked", {detail: event}))
//   or window.maildogAuthChecks.handle(event).
//
// The panel is one line (verdict and headline) whose details unfold on a
// click; whether they are open is the reader's preference, kept on the server
// (the panel comes rendered with it): each toggle is posted to
// data-preferences-url and applied to the other panels on the page, also to one
// swapped in by the reading pane (window.maildogAuthChecks.start(root)).
(function () {
  "use strict";
  if (window.maildogAuthChecks) return;
  var LABELS = { pass: "Would pass", fail: "Would fail", none: "Not authenticated", temperror: "DNS error" };

  function updateMarkers(id, verdict) {
    document.querySelectorAll('[data-auth-marker-id="' + id + '"]').forEach(function (marker) {
      marker.className = "auth-marker auth-marker--" + (verdict || "pending");
      marker.textContent = LABELS[verdict] || "Not checked yet";
      marker.title = LABELS[verdict] || "";
    });
  }

  // The last choice made on this page, if any: panels swapped in later follow it (the server has it too).
  var chosenOpen = null;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // Save each new choice for the reader (every browser they use), and follow it on this page.
  function remember(panel) {
    var details = panel.querySelector("details.auth-details");
    if (!details || details.dataset.remembered) return;
    details.dataset.remembered = "1";
    if (chosenOpen !== null) details.open = chosenOpen;
    details.addEventListener("toggle", function () {
      if (chosenOpen === details.open) return;
      chosenOpen = details.open;
      if (!panel.dataset.preferencesUrl) return;
      fetch(panel.dataset.preferencesUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": csrfToken() },
        body: "checks_details_open=" + (details.open ? "1" : "0")
      }).catch(function () { /* offline: this page still follows the choice */ });
    });
  }

  function refreshPanels(id) {
    var panels = document.querySelectorAll('[data-auth-message-id="' + id + '"][data-auth-panel-url]');
    return Promise.all(Array.prototype.map.call(panels, function (panel) {
      return fetch(panel.dataset.authPanelUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("[data-auth-panel-url]");
          if (fresh) { panel.replaceWith(fresh); remember(fresh); }
        });
    }));
  }

  function handle(event) {
    if (!event || event.type !== "message.checked") return;
    updateMarkers(event.message_id, event.verdict);
    refreshPanels(event.message_id);
  }

  // A pending panel waits for its own message's results on the inbox socket.
  function listen(panel) {
    var id = panel.dataset.authMessageId;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/inboxes/" + panel.dataset.authInboxId + "/");
    ws.onopen = function () {
      // Catch up: the results may have been saved before the socket opened.
      refreshPanels(id).then(function () {
        var current = document.querySelector('.auth-panel[data-auth-message-id="' + id + '"]');
        if (current && current.classList.contains("auth-panel--pending")) current.dataset.authLive = "listening";
        else ws.close();
      });
    };
    ws.onmessage = function (message) {
      var event = JSON.parse(message.data);
      if (event.type === "message.checked" && String(event.message_id) === id) {
        ws.close();
        handle(event);
      }
    };
  }

  // Panels under `root` (the document, or a message swapped in by the reading pane).
  function start(root) {
    root = root && root.querySelectorAll ? root : document;
    root.querySelectorAll(".auth-panel[data-auth-message-id]").forEach(remember);
    // Inside the inbox page the list's own socket passes `message.checked` on: no second socket.
    if (document.getElementById("message-list") && root !== document) return;
    root.querySelectorAll(".auth-panel--pending[data-auth-inbox-id]").forEach(listen);
  }

  window.maildogAuthChecks = { handle: handle, start: start };
  document.addEventListener("maildog:message.checked", function (e) { handle(e.detail); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { start(document); });
  else start(document);
})();

// Live updates of the message report (the line on the message page and the Report tab).
//
// The report is made with the SPF/DKIM/DMARC checks; their `message.checked`
// event ({"type": "message.checked", "message_id": 42, "verdict": "pass",
// "report": {"status": "complete", "errors": 1, "warnings": 2, "notes": 0}})
// says it is saved. A report still pending listens on its inbox's websocket
// (/ws/inboxes/<id>/) and then reloads its fragment from the server (same
// access checks as the page); other page code may pass events on with
// document.dispatchEvent(new CustomEvent("maildog:message.checked", {detail: event})).
(function () {
  "use strict";
  if (window.maildogReports) return;

  function refresh(id) {
    var lines = document.querySelectorAll('.report-line[data-report-message-id="' + id + '"][data-report-line-url]');
    var tab = document.querySelector('#report-tab[data-report-message-id="' + id + '"]');
    if (tab && tab.classList.contains("report-line--pending")) location.reload();
    return Promise.all(Array.prototype.map.call(lines, function (line) {
      return fetch(line.dataset.reportLineUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector(".report-line[data-report-line-url]");
          if (fresh) {
            fresh.open = line.open;
            line.replaceWith(fresh);
          }
        });
    }));
  }

  function handle(event) {
    if (!event || event.type !== "message.checked" || !event.report) return;
    refresh(event.message_id);
  }

  function pending(id) {
    return document.querySelector('[data-report-message-id="' + id + '"].report-line--pending');
  }

  function listen(element) {
    var id = element.dataset.reportMessageId;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/inboxes/" + element.dataset.reportInboxId + "/");
    ws.onopen = function () {
      // Catch up: the report may have been saved before the socket opened.
      refresh(id).then(function () {
        var current = pending(id);
        if (current) current.dataset.reportLive = "listening";
        else ws.close();
      });
    };
    ws.onmessage = function (message) {
      var event = JSON.parse(message.data);
      if (event.type === "message.checked" && String(event.message_id) === id && event.report) {
        ws.close();
        handle(event);
      }
    };
  }

  window.maildogReports = { handle: handle };
  document.addEventListener("maildog:message.checked", function (e) { handle(e.detail); });
  function start() {
    document.querySelectorAll(".report-line--pending[data-report-inbox-id]").forEach(listen);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

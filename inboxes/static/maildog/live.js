// Maildog's small amount of JavaScript: live message list and unread counts
// over websockets (with reconnect and catch-up), copy buttons, confirmations.
(function () {
  "use strict";

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  // A websocket that reconnects with backoff; onOpen runs after every (re)connect.
  function liveSocket(path, handlers) {
    var delay = 500;
    function connect() {
      var ws = new WebSocket(socketUrl(path));
      ws.onopen = function () { delay = 500; if (handlers.onOpen) handlers.onOpen(ws); };
      ws.onmessage = function (event) { handlers.onMessage(JSON.parse(event.data), ws); };
      ws.onclose = function (event) {
        if (handlers.onClose) handlers.onClose(event);
        if (event.code === 4401 || event.code === 4403) return; // refused: do not hammer
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
  }

  function formatSize(bytes) {
    if (bytes < 1024) return bytes + "\u00a0bytes";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + "\u00a0KB";
    return (bytes / 1024 / 1024).toFixed(1) + "\u00a0MB";
  }

  function formatTime(iso) {
    var d = new Date(iso);
    return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  // SPF/DKIM/DMARC results: deliverability/static/deliverability/checks.js listens for this.
  function announceChecked(data) {
    document.dispatchEvent(new CustomEvent("maildog:message.checked", { detail: data }));
  }

  // --- The open inbox: new rows without a reload --------------------------
  var table = document.getElementById("message-list");
  if (table) {
    var inboxId = table.dataset.inboxId;
    var lastSeq = parseInt(table.dataset.lastSeq, 10) || 0;
    var liveInsert = table.dataset.liveInsert === "1";
    var tbody = table.querySelector("tbody");
    var template = document.getElementById("row-template");
    var status = document.getElementById("live-status");

    var insertRow = function (m) {
      if (tbody.querySelector('tr[data-id="' + m.id + '"]')) return;
      var row = template.content.firstElementChild.cloneNode(true);
      row.dataset.seq = m.seq;
      row.dataset.id = m.id;
      if (m.is_read) row.classList.remove("unread");
      row.querySelector("input").value = m.id;
      row.querySelector(".cell-from").textContent = m.from;
      var link = row.querySelector(".cell-subject");
      link.textContent = m.subject || "(no subject)";
      link.href = m.url;
      row.querySelector(".cell-to").textContent = "to " + m.to;
      row.querySelector(".clip").hidden = !m.has_attachments;
      var marker = row.querySelector("[data-auth-marker-id]");
      if (marker) marker.dataset.authMarkerId = m.id;
      row.querySelector(".size").textContent = formatSize(m.size);
      var time = row.querySelector("time");
      time.dateTime = m.received_at; time.textContent = formatTime(m.received_at);
      tbody.insertBefore(row, tbody.firstChild);
      var empty = document.getElementById("empty-note");
      if (empty) empty.remove();
    };

    // Every new message is announced (a search decides for itself, see search.js); rows go in
    // on the unfiltered first page, or when asked for with maildog:insert-row.
    var addRow = function (m) {
      if (m.seq <= lastSeq) return;
      lastSeq = m.seq;
      document.dispatchEvent(new CustomEvent("maildog:message.new", { detail: m }));
      if (liveInsert) insertRow(m);
    };
    document.addEventListener("maildog:insert-row", function (event) { insertRow(event.detail); });

    liveSocket("/ws/inboxes/" + inboxId + "/", {
      onOpen: function (ws) {
        status.textContent = "● Live";
        // Catch up on whatever arrived while the page loaded or the socket was down.
        ws.send(JSON.stringify({ type: "catch_up", after_seq: lastSeq }));
      },
      onClose: function () { status.textContent = "Reconnecting…"; },
      onMessage: function (data) {
        if (data.type === "message.new") addRow(data.message);
        else if (data.type === "caught_up") data.messages.forEach(addRow);
        else if (data.type === "message.checked") announceChecked(data);
      }
    });

    var all = document.getElementById("select-all");
    if (all) all.addEventListener("change", function () {
      tbody.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = all.checked; });
    });
  }

  // --- A message page: its checks panel updates when the verdict arrives --------
  var messageLive = document.getElementById("message-live");
  if (messageLive) {
    liveSocket("/ws/inboxes/" + messageLive.dataset.inboxId + "/", {
      onMessage: function (data) { if (data.type === "message.checked") announceChecked(data); }
    });
  }

  // --- Unread counts in the sidebar ------------------------------------------
  if (document.querySelector("[data-unread-inbox]")) {
    liveSocket("/ws/unread/", {
      onMessage: function (data) {
        if (data.type !== "unread") return;
        Object.keys(data.counts).forEach(function (id) {
          var badge = document.querySelector('[data-unread-inbox="' + id + '"]');
          if (!badge) return;
          var count = data.counts[id];
          badge.textContent = count >= data.window ? (data.window - 1) + "+" : count;
          badge.classList.toggle("zero", data.counts[id] === 0);
        });
      }
    });
  }

  // --- Copy buttons and confirmations -----------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    });
  });

  document.addEventListener("submit", function (event) {
    var question = event.target.dataset.confirm;
    var submitter = event.submitter;
    if (submitter && submitter.dataset.confirm) question = submitter.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();

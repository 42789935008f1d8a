// Maildog's small amount of JavaScript: live message list and unread counts
// over websockets (with reconnect and catch-up by sequence number), copy
// buttons, confirmations. The reading pane and keys are in reader.js.
//
// For other scripts: `maildog:message.new` (document CustomEvent, detail = the
// message summary) is dispatched once for every new message the page learns
// of, also where rows are not inserted (a search, an older page); a
// `maildog:insert-row` event with the same detail inserts its row.
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

  // The server's one format, "2026-11-25 20:05:03", in the site's time zone (as the server-rendered rows).
  var timeFormat = new Intl.DateTimeFormat("en-CA", {
    timeZone: document.documentElement.dataset.timeZone || undefined,
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
  });
  function formatTime(iso) {
    var parts = {};
    timeFormat.formatToParts(new Date(iso)).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute + ":" + parts.second;
  }

  // SPF/DKIM/DMARC results: deliverability/static/deliverability/checks.js listens for this.
  function announceChecked(data) {
    document.dispatchEvent(new CustomEvent("maildog:message.checked", { detail: data }));
  }

  // --- The open inbox: new rows without a reload --------------------------
  // Every message has a sequence number in its inbox. The page remembers which
  // numbers it has seen; an event is placed by its number (events may arrive
  // out of order), a duplicate is ignored, and a gap (an event missed, or one
  // still on its way) is filled by asking the server for everything after the
  // last number the page is sure of. Numbers of deleted messages never come:
  // the server's answer settles them.
  var table = document.getElementById("message-list");
  if (table) {
    var inboxId = table.dataset.inboxId;
    // Every number up to `settled` is on the page or will never be (deleted, or outside this view).
    var settled = parseInt(table.dataset.lastSeq, 10) || 0;
    var seen = {}; // numbers above `settled` that arrived
    var highest = settled;
    var liveInsert = table.dataset.liveInsert === "1";
    var tbody = table.querySelector("tbody");
    var template = document.getElementById("row-template");
    var status = document.getElementById("live-status");
    var catchUpUrl = (table.dataset.catchUpUrl || ("/inboxes/" + inboxId + "/messages/after/0/")).replace(/0\/$/, "");
    var GAP_WAIT = 1000; // ms: an event out of order usually arrives within this
    // An open list keeps its newest LIVE_ROWS rows: every row makes each frame's layout and paint
    // longer, and a flood of mail would grow the table without end. Older rows are one click away.
    var LIVE_ROWS = 50;
    // New rows flash (a background animation, redrawn every frame): a few at a time, not a whole flood.
    var FLASH_LIMIT = 3;
    var FLASH_MS = 2000; // the animation's length (app.css, .message-row.new)
    var flashes = []; // start times of the flashes still running
    var QUIET_WAIT = 2000; // ms without events after one: the burst is over
    var gapTimer = null;
    var quietTimer = null;
    var catchingUp = null;

    // Adopted into this document once: a clone of it is inserted without moving between documents.
    var rowPrototype = document.importNode(template.content.firstElementChild, true);

    var buildRow = function (m) {
      var row = rowPrototype.cloneNode(true);
      row.dataset.seq = m.seq;
      row.dataset.id = m.id;
      if (m.is_read) row.classList.remove("unread");
      row.querySelector("input").value = m.id;
      row.querySelector(".cell-from").textContent = m.from || m.envelope_from || "";
      var link = row.querySelector(".cell-subject");
      link.textContent = m.subject || "(no subject)";
      link.href = m.url;
      var to = m.to || (m.envelope_to || []).join(", ");
      row.querySelector(".cell-to").textContent = "to " + to;
      row.querySelector(".clip").hidden = !m.has_attachments;
      var marker = row.querySelector("[data-auth-marker-id]");
      if (marker) {
        marker.dataset.authMarkerId = m.id;
        if (m.auth_verdict) marker.className = "auth-marker auth-marker--" + m.auth_verdict;
      }
      row.querySelector(".size").textContent = formatSize(m.size);
      var time = row.querySelector("time");
      time.dateTime = m.received_at; time.textContent = formatTime(m.received_at);
      return row;
    };

    var mayFlash = function () {
      var now = Date.now();
      while (flashes.length && now - flashes[0] > FLASH_MS) flashes.shift();
      if (flashes.length >= FLASH_LIMIT) return false;
      flashes.push(now);
      return true;
    };

    var seqOf = function (row) { return parseInt(row.dataset.seq, 10) || 0; };

    // The pager's link to the rows below the last one shown (the list's own address, `before=` it).
    var pointOlderAt = function (seq) {
      var pager = document.querySelector(".pager");
      if (!pager) return;
      var link = pager.querySelector("a[data-older]") || pager.querySelector('a[href*="before="]');
      if (!link) {
        link = document.createElement("a");
        link.textContent = "Older \u2192";
        pager.appendChild(link);
      }
      link.dataset.older = "";
      var url = new URL(location.href);
      ["after", "before", "message", "tab", "width", "remote"].forEach(function (name) { url.searchParams.delete(name); });
      url.searchParams.set("before", seq);
      link.href = url.pathname + url.search;
    };

    // Rows beyond LIVE_ROWS leave from the bottom, except one the reader is using (checked, under
    // the cursor, open in the pane): the rows shown stay one unbroken run of numbers.
    var trim = function () {
      var rows = tbody.rows;
      var trimmed = false;
      while (rows.length > LIVE_ROWS) {
        var last = rows[rows.length - 1];
        if (!last.classList.contains("message-row") || last.classList.contains("selected") ||
            last.classList.contains("open") || last.querySelector("input:checked")) break;
        last.remove();
        trimmed = true;
      }
      if (trimmed) pointOlderAt(seqOf(rows[rows.length - 1]));
    };

    // Rows are newest first: a row goes before the first row with a lower number (new mail: the first
    // row). One below every row shown belongs to an older page when rows were trimmed.
    var placeRow = function (m) {
      if (tbody.querySelector('tr[data-id="' + m.id + '"]')) return;
      var before = tbody.querySelector("tr.message-row");
      while (before && seqOf(before) > m.seq) {
        before = before.nextElementSibling;
        while (before && !before.classList.contains("message-row")) before = before.nextElementSibling;
      }
      if (!before && tbody.rows.length >= LIVE_ROWS) return;
      var row = buildRow(m);
      if (mayFlash()) row.classList.add("new");
      tbody.insertBefore(row, before);
      trim();
      var empty = document.getElementById("empty-note");
      if (empty) empty.remove();
    };

    var settle = function () {
      while (seen[settled + 1]) { delete seen[settled + 1]; settled += 1; }
    };

    // `caughtUp`: the message came from the server's list, which already settled what came before it.
    var learn = function (m, caughtUp) {
      if (typeof m.seq !== "number" || m.seq <= settled || seen[m.seq]) return;
      seen[m.seq] = true;
      if (m.seq > highest) highest = m.seq;
      settle();
      if (liveInsert) placeRow(m);
      document.dispatchEvent(new CustomEvent("maildog:message.new", { detail: m }));
      if (caughtUp === true) return;
      if (highest > settled && !gapTimer) gapTimer = setTimeout(function () { gapTimer = null; catchUp(); }, GAP_WAIT);
      // The last events of a burst leave no gap behind them if they are lost: once the
      // socket has been quiet for a moment after an event, ask once whether anything came after it.
      clearTimeout(quietTimer);
      quietTimer = setTimeout(catchUp, QUIET_WAIT);
    };

    // Everything after `settled`, page by page; afterwards every number up to the newest answered is settled.
    var catchUp = function () {
      if (catchingUp) return catchingUp;
      var from = settled;
      catchingUp = fetch(catchUpUrl + from + "/", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("catch-up answered " + response.status);
          return response.json();
        })
        .then(function (data) {
          data.messages.forEach(function (m) { learn(m, true); });
          var last = data.messages.length ? data.messages[data.messages.length - 1].seq : from;
          var upTo = data.truncated ? last : Math.max(last, data.last_seq || 0);
          if (upTo > settled) {
            Object.keys(seen).forEach(function (seq) { if (+seq <= upTo) delete seen[seq]; });
            settled = upTo;
            settle();
          }
          if (upTo > highest) highest = upTo;
          catchingUp = null;
          if (data.truncated) return catchUp();
          if (highest > settled && !gapTimer) gapTimer = setTimeout(function () { gapTimer = null; catchUp(); }, GAP_WAIT);
        })
        .catch(function () { catchingUp = null; });
      return catchingUp;
    };

    document.addEventListener("maildog:insert-row", function (event) {
      if (event.detail && event.detail.id) placeRow(event.detail);
    });

    liveSocket("/ws/inboxes/" + inboxId + "/", {
      onOpen: function () {
        status.textContent = "● Live";
        // Catch up on whatever arrived while the page loaded or the socket was down.
        catchUp();
      },
      onClose: function () { status.textContent = "Reconnecting…"; },
      onMessage: function (data) {
        if (data.type === "message.new") learn(data.message);
        else if (data.type === "caught_up") data.messages.forEach(learn);
        else if (data.type === "message.checked") announceChecked(data);
      }
    });
    window.maildogLive = { catchUp: catchUp, state: function () { return { settled: settled, highest: highest }; } };

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

// Reading mail without page loads: the inbox's reading pane, the message's
// tabs and preview widths, and the keys. Everything here is an enhancement:
// without it every link is an ordinary page.
//
// - On a wide screen the inbox page opens a message in the pane beside the
//   list (the message page's block, fetched with `?fragment=1`); the address
//   becomes the inbox's with `message=<id>` (and `tab=`), so it can be shared,
//   reloaded, and the back button returns to the previous message. On a narrow
//   screen a message opens as its own page.
// - On a message (in the pane or on its own page) tabs, newer/older and the
//   remote-images switch swap the block in place; widths only resize the frame.
// - Keys: j/k next/previous, Enter or o open, # delete, u read/unread,
//   / search, ? the list of keys.
(function () {
  "use strict";

  var WIDE = window.matchMedia("(min-width: 1200px)");
  var MESSAGE_PATH = /^\/inboxes\/\d+\/messages\/(\d+)\/$/;
  var table = document.getElementById("message-list");
  var split = document.getElementById("inbox-split");
  var inboxPane = split ? document.getElementById("reader") : null;
  var pageReader = document.querySelector("#reader.reader-page");
  var reader = inboxPane || pageReader;
  var tbody = table ? table.querySelector("tbody") : null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, follow) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
      // The delete view answers with the list and its flash: following the redirect shows (and clears) it.
      redirect: follow ? "follow" : "manual"
    });
  }

  function rows() { return tbody ? Array.prototype.slice.call(tbody.querySelectorAll("tr.message-row")) : []; }
  function rowOf(id) { return tbody ? tbody.querySelector('tr.message-row[data-id="' + id + '"]') : null; }
  function cursorRow() { return tbody ? tbody.querySelector("tr.message-row.selected") : null; }
  function currentView() { return reader ? reader.querySelector("#message-view") : null; }

  function select(row) {
    rows().forEach(function (r) { r.classList.toggle("selected", r === row); });
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  // --- Addresses ---------------------------------------------------------------
  function messageUrl(link) {
    var url = new URL(link, location.href);
    return MESSAGE_PATH.test(url.pathname) ? url : null;
  }

  // The address of a shown message: in the inbox, the list's own address plus message/tab/width/remote.
  function stateUrl(url) {
    var params = url.searchParams;
    if (!inboxPane) {
      var own = new URL(url.pathname, location.href);
      ["tab", "width", "remote"].forEach(function (name) { if (params.get(name)) own.searchParams.set(name, params.get(name)); });
      return own.pathname + own.search;
    }
    var here = new URL(location.href);
    ["message", "tab", "width", "remote"].forEach(function (name) { here.searchParams.delete(name); });
    here.searchParams.set("message", url.pathname.match(MESSAGE_PATH)[1]);
    ["tab", "width", "remote"].forEach(function (name) { if (params.get(name)) here.searchParams.set(name, params.get(name)); });
    return here.pathname + here.search;
  }

  // The inbox's own address, without a message.
  function listUrl() {
    var here = new URL(location.href);
    ["message", "tab", "width", "remote"].forEach(function (name) { here.searchParams.delete(name); });
    return here.pathname + here.search;
  }

  // The message an address names: on the message page its own, in the inbox `?message=`.
  function urlFromState() {
    if (!inboxPane) return new URL(location.href);
    var here = new URL(location.href);
    var id = here.searchParams.get("message");
    if (!id || !/^\d+$/.test(id)) return null;
    var url = new URL("/inboxes/" + table.dataset.inboxId + "/messages/" + id + "/", location.href);
    ["tab", "width", "remote"].forEach(function (name) { if (here.searchParams.get(name)) url.searchParams.set(name, here.searchParams.get(name)); });
    return url;
  }

  // --- Showing a message -----------------------------------------------------------
  var loading = 0;

  function show(url, how) {
    var ticket = ++loading;
    var fetchUrl = new URL(url.href);
    fetchUrl.searchParams.set("fragment", "1");
    if (reader) reader.setAttribute("aria-busy", "true");
    return fetch(fetchUrl.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.status === 404) return "<p class=\"muted\" id=\"message-gone\">This message is no longer here.</p>";
        if (!response.ok) throw new Error("message answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (ticket !== loading) return;
        reader.innerHTML = html;
        reader.removeAttribute("aria-busy");
        if (inboxPane) {
          split.classList.add("reading");
          inboxPane.hidden = false;
        }
        var view = currentView();
        if (view) {
          document.title = (reader.querySelector("#message-subject") || {}).textContent + " · Maildog";
          var row = rowOf(view.dataset.messageId);
          rows().forEach(function (r) { r.classList.toggle("open", r === row); });
          if (row) {
            if (row.classList.contains("unread")) countUnread(view.dataset.inboxId, -1);
            row.classList.remove("unread");
            select(row);
          }
          if (window.maildogAuthChecks) window.maildogAuthChecks.start(reader);
          if (!url.searchParams.get("tab")) url.searchParams.set("tab", view.dataset.tab);
        }
        if (how === "push") history.pushState({ maildog: "message" }, "", stateUrl(url));
        else if (how === "replace") history.replaceState({ maildog: "message" }, "", stateUrl(url));
        if (inboxPane) reader.scrollTop = 0;
      })
      .catch(function () {
        // Whatever went wrong, the page itself still works.
        if (ticket === loading) location.href = url.href;
      });
  }

  function closePane() {
    if (!inboxPane) return;
    loading++;
    inboxPane.innerHTML = "";
    inboxPane.hidden = true;
    split.classList.remove("reading");
    rows().forEach(function (r) { r.classList.remove("open"); });
  }

  function open(link) {
    var url = messageUrl(link);
    if (!url) return;
    if (inboxPane && !WIDE.matches) { location.href = url.href; return; }
    var view = currentView();
    if (view && url.pathname === view.dataset.url && !url.search) url.searchParams.set("tab", view.dataset.tab);
    show(url, "push");
  }

  // --- Clicks -------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var keysButton = event.target.closest("[data-show-keys]");
    if (keysButton) { showKeys(); return; }
    // Beside the list, a click anywhere on a row (but its checkbox and links) opens it.
    var cell = event.target.closest("tr.message-row td");
    if (cell && inboxPane && WIDE.matches && !event.target.closest("a, input, button, label")) {
      event.preventDefault();
      open(cell.parentElement.querySelector("a.cell-subject").href);
      return;
    }
    var link = event.target.closest("a[href]");
    if (!link || link.hasAttribute("download") || link.target === "_blank") return;
    // Widths: only the frame changes.
    if (reader && reader.contains(link) && link.dataset.frameWidth) {
      event.preventDefault();
      var box = reader.querySelectorAll(".frame-box");
      box.forEach(function (b) { b.style.maxWidth = link.dataset.frameWidth; });
      reader.querySelectorAll("a[data-frame-width]").forEach(function (pill) { pill.classList.toggle("active", pill === link); });
      var view = currentView();
      if (view) view.dataset.width = link.dataset.width;
      history.replaceState(history.state, "", stateUrl(new URL(link.href, location.href)));
      return;
    }
    var inPane = reader && reader.contains(link);
    var inList = tbody && tbody.contains(link) && link.classList.contains("cell-subject");
    if (!inPane && !inList) return;
    var url = messageUrl(link.href);
    if (!url) return;
    if (inList && !WIDE.matches) return;
    event.preventDefault();
    show(url, "push");
  });

  window.addEventListener("popstate", function () {
    var url = urlFromState();
    if (url) show(url, null);
    else closePane();
  });

  // --- Actions on the shown or selected message ----------------------------------------
  function target() {
    var view = currentView();
    var row = cursorRow();
    if (inboxPane && row && (!view || row.dataset.id !== view.dataset.messageId)) {
      var href = row.querySelector("a.cell-subject").getAttribute("href");
      return { id: row.dataset.id, url: href, row: row, view: null };
    }
    if (view) return { id: view.dataset.messageId, url: view.dataset.url, row: rowOf(view.dataset.messageId), view: view };
    return null;
  }

  function neighbour(row, step) {
    var list = rows();
    var index = list.indexOf(row);
    return list[index + step] || null;
  }

  function remove() {
    var t = target();
    if (!t) return;
    var next = t.row ? (neighbour(t.row, 1) || neighbour(t.row, -1)) : null;
    var older = t.view ? (t.view.dataset.olderUrl || t.view.dataset.newerUrl) : null;
    post(t.url + "delete/", true).then(function (response) {
      if (!response.ok && response.type !== "opaqueredirect") return;
      if (t.row) {
        if (table && t.row.classList.contains("unread")) countUnread(table.dataset.inboxId, -1);
        t.row.remove();
      }
      if (inboxPane) {
        if (t.view || (currentView() && currentView().dataset.messageId === t.id)) {
          if (next) show(messageUrl(next.querySelector("a.cell-subject").href), "replace");
          else { closePane(); history.replaceState(null, "", listUrl()); }
        } else if (next) select(next);
        announce("Message deleted.");
      } else if (pageReader) {
        if (older) show(messageUrl(older), "replace");
        else location.href = document.querySelector(".crumbs span a:last-child").href;
      }
    });
  }

  function toggleRead() {
    var t = target();
    if (!t) return;
    var unread = t.row ? !t.row.classList.contains("unread") : !(t.view && t.view.dataset.unread === "1");
    post(t.url + (unread ? "mark-unread/" : "mark-read/"), false).then(function () {
      if (t.row) t.row.classList.toggle("unread", unread);
      if (table) countUnread(table.dataset.inboxId, unread ? 1 : -1);
      if (t.view) t.view.dataset.unread = unread ? "1" : "0";
      announce(unread ? "Marked unread." : "Marked read.");
    });
  }

  // The shown message's own Mark unread and Delete buttons, in place (after live.js's confirmation).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var view = currentView();
    if (event.defaultPrevented || !view || !view.contains(form)) return;
    var action = new URL(form.action, location.href).pathname;
    if (action === new URL(view.dataset.markUnreadUrl, location.href).pathname) {
      event.preventDefault();
      select(rowOf(view.dataset.messageId) || cursorRow());
      if (view.dataset.unread !== "1") toggleRead();
    } else if (action === new URL(view.dataset.deleteUrl, location.href).pathname) {
      event.preventDefault();
      select(rowOf(view.dataset.messageId) || cursorRow());
      remove();
    }
  });

  // The sidebar's unread badge follows what this page marks (the unread socket speaks on new mail only).
  function countUnread(inboxId, change) {
    var badge = document.querySelector('[data-unread-inbox="' + inboxId + '"]');
    if (!badge || !/^\d+$/.test(badge.textContent.trim())) return;
    var count = Math.max(0, parseInt(badge.textContent, 10) + change);
    badge.textContent = count;
    badge.classList.toggle("zero", count === 0);
  }

  function announce(text) {
    var status = document.getElementById("reader-status");
    if (status) status.textContent = text;
  }

  function move(step) {
    if (tbody) {
      var row = cursorRow();
      var list = rows();
      var next = row ? neighbour(row, step) : list[step > 0 ? 0 : list.length - 1];
      if (!next) return;
      select(next);
      // With a message open beside the list, the pane follows the cursor.
      if (inboxPane && currentView() && WIDE.matches) open(next.querySelector("a.cell-subject").href);
      return;
    }
    var view = currentView();
    var url = view && (step > 0 ? view.dataset.olderUrl : view.dataset.newerUrl);
    if (url) {
      var next_ = messageUrl(url);
      next_.searchParams.set("tab", view.dataset.tab);
      show(next_, "push");
    }
  }

  function showKeys() {
    var help = document.getElementById("keys-help");
    if (!help || !help.showModal) return false;
    if (!help.open) help.showModal();
  }

  function openSelected() {
    var row = cursorRow();
    if (row) open(row.querySelector("a.cell-subject").href);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var t = event.target;
    if (t.closest && t.closest("input, textarea, select, [contenteditable], dialog[open]")) {
      if (event.key === "Escape" && t.blur) t.blur();
      return;
    }
    var keys = {
      j: function () { move(1); },
      k: function () { move(-1); },
      o: openSelected,
      Enter: function () { if (tbody && cursorRow()) openSelected(); else return false; },
      "#": remove,
      u: toggleRead,
      "/": function () {
        var search = document.querySelector('.search input[type=search], input[name="q"]');
        if (!search) return false;
        search.focus();
        search.select();
      },
      "?": showKeys
    };
    var action = keys[event.key];
    if (!action) return;
    if (event.key === "Enter" && t.closest && t.closest("a, button")) return;
    if (action() !== false) event.preventDefault();
  });

  // --- "Mark passing mail": the inbox's setting, for the whole team ---------------------
  var showPass = document.getElementById("show-pass");
  var showPassForm = document.getElementById("show-pass-form");
  if (showPass && showPassForm && table) {
    showPass.addEventListener("change", function () {
      var wanted = showPass.checked;
      table.classList.toggle("show-pass", wanted);
      var body = new URLSearchParams();
      body.set("mark_passing_mail", wanted ? "1" : "0");
      fetch(showPassForm.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
        body: body
      }).then(function (response) {
        if (!response.ok) throw new Error("not saved");
      }).catch(function () {  // not saved: show what the inbox still says
        showPass.checked = !wanted;
        table.classList.toggle("show-pass", !wanted);
      });
    });
  }

  // --- A shared address: open its message ---------------------------------------------
  if (inboxPane) {
    // Narrowed with a message open: the message gets the whole page.
    var narrowed = function () {
      var view = currentView();
      if (WIDE.matches || !view) return;
      location.href = view.dataset.url + "?tab=" + encodeURIComponent(view.dataset.tab) + "&width=" + encodeURIComponent(view.dataset.width);
    };
    if (WIDE.addEventListener) WIDE.addEventListener("change", narrowed);
    var start = urlFromState();
    if (start) {
      if (WIDE.matches) show(start, "replace");
      else location.replace(start.href);
    }
  }
})();

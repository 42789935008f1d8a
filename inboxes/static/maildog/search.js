// Search results on the inbox page: live insertion of new mail that matches the open search,
// "select all N matching" for the bulk actions, and no confirmation when nothing is selected.
// live.js tells us of new mail (maildog:message.new) and inserts the rows we ask for (maildog:insert-row).
(function () {
  "use strict";
  var box = document.getElementById("search-results");
  var bulk = document.getElementById("bulk");
  if (!box || !bulk) return;
  var query = box.dataset.q;
  var status = document.getElementById("bulk-status");
  var allMatching = document.getElementById("all-matching");
  var offer = document.getElementById("select-matching");
  var headerBox = document.getElementById("select-all");

  // --- Live insertion into an open search -------------------------------------------
  var pending = {};
  var timer = null;
  var words = [];
  var prefixes = [];

  function mark(row) {
    if (!words.length && !prefixes.length) return;
    var pattern = new RegExp("[\\p{L}\\p{N}]+", "gu");
    row.querySelectorAll(".cell-from, .cell-subject, .cell-to").forEach(function (cell) {
      var text = cell.textContent;
      var fragment = document.createDocumentFragment();
      var last = 0, found = false, m;
      while ((m = pattern.exec(text)) !== null) {
        var lower = m[0].toLowerCase();
        var hit = words.indexOf(lower) !== -1 || prefixes.some(function (p) { return lower.indexOf(p) === 0; });
        if (!hit) continue;
        fragment.appendChild(document.createTextNode(text.slice(last, m.index)));
        var marked = document.createElement("mark");
        marked.textContent = m[0];
        fragment.appendChild(marked);
        last = m.index + m[0].length;
        found = true;
      }
      if (!found) return;
      fragment.appendChild(document.createTextNode(text.slice(last)));
      cell.textContent = "";
      cell.appendChild(fragment);
    });
  }

  function ask() {
    timer = null;
    var batch = pending;
    pending = {};
    var ids = Object.keys(batch);
    if (!ids.length) return;
    var url = box.dataset.matchesUrl + "?q=" + encodeURIComponent(query) + "&ids=" + ids.join(",");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { ids: [] }; })
      .then(function (answer) {
        words = answer.words || words;
        prefixes = answer.prefixes || prefixes;
        answer.ids.forEach(function (id) {
          var message = batch[id];
          if (!message) return;
          document.dispatchEvent(new CustomEvent("maildog:insert-row", { detail: message }));
          var row = document.querySelector('#message-list tr[data-id="' + id + '"]');
          if (row) mark(row);
        });
      })
      .catch(function () { /* the page still works; the next message asks again */ });
  }

  if (box.dataset.live === "1") {
    document.addEventListener("maildog:message.new", function (event) {
      var message = event.detail;
      if (!message || !message.id) return;
      pending[message.id] = message;
      if (!timer) timer = setTimeout(ask, 150);
    });
  }

  // --- Select all N matching ----------------------------------------------------------
  var buttons = {
    del: bulk.querySelector('button[formaction$="/messages/delete/"]'),
    read: bulk.querySelector('button[formaction$="/messages/mark-read/"]'),
    unread: bulk.querySelector('button[formaction$="/messages/mark-unread/"]')
  };
  var original = {};
  Object.keys(buttons).forEach(function (key) {
    if (buttons[key]) original[key] = buttons[key].dataset.confirm;
  });

  function restore(key) {
    var button = buttons[key];
    if (!button) return;
    if (original[key] === undefined) delete button.dataset.confirm;
    else button.dataset.confirm = original[key];
  }

  function setAllMatching(on) {
    if (!allMatching) return;
    allMatching.checked = on;
    var what = query ? box.dataset.total + " messages matching \u201c" + query + "\u201d" : "messages in this inbox";
    if (on) {
      if (buttons.del) buttons.del.dataset.confirm = "Delete all " + what + "?";
      if (buttons.read) buttons.read.dataset.confirm = "Mark all " + what + " read?";
      if (buttons.unread) buttons.unread.dataset.confirm = "Mark all " + what + " unread?";
    } else {
      Object.keys(buttons).forEach(restore);
    }
  }

  if (headerBox && offer) {
    headerBox.addEventListener("change", function () {
      offer.hidden = !(headerBox.checked && box.dataset.more === "1");
      if (!headerBox.checked) setAllMatching(false);
    });
  }
  if (allMatching) allMatching.addEventListener("change", function () { setAllMatching(allMatching.checked); });
  document.addEventListener("change", function (event) {
    // Unticking a row leaves "all matching".
    if (event.target.name === "ids" && !event.target.checked && allMatching && allMatching.checked) setAllMatching(false);
  });

  // --- Nothing selected: say so, ask nothing (runs before the confirmation handler) ---
  document.addEventListener("submit", function (event) {
    if (event.target !== bulk) return;
    var any = document.querySelector('input[name="ids"][form="bulk"]:checked');
    if (any || (allMatching && allMatching.checked)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (status) status.textContent = "No messages selected: tick some rows first.";
  }, true);
})();

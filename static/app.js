// Hooklog browser behaviour, loaded with defer after htmx. There is no inline
// script anywhere (the Content-Security-Policy forbids it), and every page works
// without this file: it only adds conveniences. Listeners are delegated from the
// document, so content that htmx swaps in is covered without re-binding.
(function () {
  "use strict";

  var MIN = 60, HOUR = 3600, DAY = 86400;

  // ---- relative times: <time datetime="RFC3339"> ----

  function relative(date, now) {
    var secs = Math.round((now - date.getTime()) / 1000);
    var past = secs >= 0;
    var s = Math.abs(secs);
    var text;
    if (s < 45) return past ? "just now" : "in a moment";
    if (s < HOUR) text = Math.max(1, Math.floor(s / MIN)) + " min";
    else if (s < DAY) text = Math.floor(s / HOUR) + " h";
    else if (s < 2 * DAY) return past ? "yesterday" : "tomorrow";
    else if (s < 30 * DAY) text = Math.floor(s / DAY) + " days";
    else return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
    return past ? text + " ago" : "in " + text;
  }

  // The server renders the exact UTC time as text and title; the title keeps it.
  function refreshTimes() {
    var now = Date.now();
    var els = document.querySelectorAll("time[datetime]:not([data-absolute])");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) continue;
      if (!el.title) el.title = el.textContent.trim();
      var text = relative(d, now);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  // ---- copy to clipboard: <button data-copy="ID"> ----

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  // legacyCopy covers plain-HTTP deployments and browsers that refuse the Clipboard API.
  function legacyCopy(text) {
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "sr-only";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      ta.remove();
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }

  function showCopied(btn, label) {
    if (!btn.hasAttribute("data-label")) btn.setAttribute("data-label", btn.textContent);
    btn.textContent = label;
    btn.setAttribute("data-copied", "");
    clearTimeout(btn._hooklogTimer);
    btn._hooklogTimer = setTimeout(function () {
      btn.textContent = btn.getAttribute("data-label");
      btn.removeAttribute("data-copied");
    }, 1500);
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy]");
    if (!btn) return;
    var src = document.getElementById(btn.getAttribute("data-copy"));
    if (!src) return;
    e.preventDefault();
    var text = (src.tagName === "INPUT" || src.tagName === "TEXTAREA") ? src.value : src.textContent;
    copyText(text).then(
      function () { showCopied(btn, "Copied"); },
      function () {
        // Leave the text selected so the user can copy it by hand.
        if (src.select) src.select(); else window.getSelection().selectAllChildren(src);
        showCopied(btn, "Copy manually");
      }
    );
  });

  // ---- confirm before submit: data-confirm="Question?" on a form or a button ----
  // Capture phase, so a cancel stops the event before htmx or the browser acts on it.

  var confirmedForm = null;

  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("button[data-confirm], input[type=submit][data-confirm], a[data-confirm]");
    if (!el) return;
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
      return;
    }
    // The submit that follows this click should not ask again for the form's own data-confirm.
    confirmedForm = el.form || null;
    setTimeout(function () { confirmedForm = null; }, 0);
  }, true);

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) return;
    if (confirmedForm === form) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // ---- select all: <input type=checkbox data-select-all="NAME"> ----
  // Also fills [data-selected-count] (empty or equal to NAME) with the number checked,
  // and disables [data-requires-selection="NAME"] buttons while none is checked.

  function each(selector, fn) {
    var els = document.querySelectorAll(selector);
    for (var i = 0; i < els.length; i++) fn(els[i]);
  }

  function boxes(name) {
    return document.querySelectorAll('input[type="checkbox"][name="' + CSS.escape(name) + '"]');
  }

  function syncSelection(name) {
    var all = boxes(name), enabled = 0, checked = 0;
    for (var i = 0; i < all.length; i++) {
      if (all[i].disabled) continue;
      enabled++;
      if (all[i].checked) checked++;
    }
    each("[data-select-all]", function (t) {
      if (t.getAttribute("data-select-all") !== name) return;
      t.checked = enabled > 0 && checked === enabled;
      t.indeterminate = checked > 0 && checked < enabled;
    });
    each("[data-selected-count]", function (el) {
      var v = el.getAttribute("data-selected-count");
      if (v === "" || v === name) el.textContent = String(checked);
    });
    each("[data-requires-selection]", function (el) {
      if (el.getAttribute("data-requires-selection") === name) el.disabled = checked === 0;
    });
  }

  function syncAllSelections() {
    var seen = {};
    each("[data-select-all]", function (t) {
      var name = t.getAttribute("data-select-all");
      if (!seen[name]) { seen[name] = true; syncSelection(name); }
    });
  }

  // ---- change: select all, checkbox rows, autosubmit ----

  function submitForm(form) {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches('input[type="checkbox"][data-select-all]')) {
      var name = t.getAttribute("data-select-all");
      var all = boxes(name);
      for (var i = 0; i < all.length; i++) if (!all[i].disabled) all[i].checked = t.checked;
      syncSelection(name);
      return;
    }
    if (t.matches('input[type="checkbox"][name]')) {
      var tname = t.getAttribute("name");
      each("[data-select-all]", function (s) {
        if (s.getAttribute("data-select-all") === tname) syncSelection(tname);
      });
    }
    // data-autosubmit on a control, or on its form to cover every control (filter bars).
    if (t.form && t.closest("[data-autosubmit]")) submitForm(t.form);
  });

  // ---- failed htmx requests ----
  // htmx does not swap 4xx/5xx responses. Show the server's flash if the response
  // carries a #flashes element with a message (views.Flashes), else a generic one.

  function statusMessage(status) {
    if (status === 401) return "Your session has ended. Reload the page to sign in again.";
    if (status === 403) return "You don't have access to do that.";
    if (status === 404) return "That item no longer exists. Reload the page.";
    if (status === 409) return "That changed in the meantime. Reload the page and try again.";
    if (status === 429) return "Too many requests. Wait a moment and try again.";
    if (status >= 500) return "Something went wrong on our side. Try again in a moment.";
    return "The request failed (HTTP " + status + ").";
  }

  function showError(message) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "flash flash-error";
    div.setAttribute("role", "alert");
    div.textContent = message;
    box.replaceChildren(div);
  }

  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    var box = document.getElementById("flashes");
    if (xhr && box && /text\/html/.test(xhr.getResponseHeader("Content-Type") || "")) {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var sent = doc.getElementById("flashes");
      if (sent && sent.querySelector(".flash")) {
        box.replaceChildren.apply(box, Array.prototype.map.call(sent.childNodes, function (n) {
          return document.importNode(n, true);
        }));
        return;
      }
    }
    showError(statusMessage(xhr ? xhr.status : 0));
  });

  document.addEventListener("htmx:sendError", function () {
    showError("Could not reach Hooklog. Check your connection and try again.");
  });

  // ---- start, and again for content htmx adds ----

  function refresh() {
    refreshTimes();
    syncAllSelections();
  }

  // htmx:load fires once per element a swap adds (one per table row); run once per swap.
  var pending = false;
  function refreshSoon() {
    if (pending) return;
    pending = true;
    setTimeout(function () { pending = false; refresh(); }, 0);
  }

  refresh();
  document.addEventListener("htmx:load", refreshSoon);
  document.addEventListener("htmx:afterSwap", refreshSoon);
  window.addEventListener("pageshow", function (e) { if (e.persisted) refresh(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refreshTimes(); });
  setInterval(function () { if (!document.hidden) refreshTimes(); }, 30000);
})();

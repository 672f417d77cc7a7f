// The kiosk's script: idle reset, automatic return, double-tap protection, and the offline
// queue (IndexedDB outbox, synced through the batch API with backoff). The pages work without
// it; it only adds what a kiosk needs.
(function () {
  "use strict";
  var VERSION = "1";
  var IDLE_MS = 60000, COUNTDOWN = 30, THANKS_MS = 20000;
  var body = document.body, home = body.dataset.home, resetUrl = body.dataset.reset;
  var dialog = document.getElementById("idle-dialog");
  var statusLine = document.getElementById("kiosk-status");
  var idleTimer = null, countdownTimer = null, syncTimer = null, backoff = 5000, revoked = false;
  var atHome = location.pathname === home;

  // --- IndexedDB: the outbox and the dead-letter list (codes only, never a phone number) ---
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open("survey-kiosk", 2);
      request.onupgradeneeded = function () {
        var names = request.result.objectStoreNames;
        ["outbox", "deadletter", "state"].forEach(function (name) {
          if (!names.contains(name)) {
            request.result.createObjectStore(name, { keyPath: name === "state" ? "name" : "id" });
          }
        });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function store(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode), result = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(result && result.result); db.close(); };
        tx.onerror = function () { reject(tx.error); db.close(); };
      });
    });
  }
  function all(name) { return store(name, "readonly", function (s) { return s.getAll(); }); }
  function get(name, key) { return store(name, "readonly", function (s) { return s.get(key); }); }
  function put(name, item) { return store(name, "readwrite", function (s) { s.put(item); }); }
  function remove(name, id) { return store(name, "readwrite", function (s) { s.delete(id); }); }

  // --- Status line and heartbeat ---
  function showStatus() {
    return Promise.all([all("outbox"), all("deadletter")]).then(function (lists) {
      var waiting = lists[0].length + lists[1].length;
      var text = revoked ? statusLine.dataset.revoked : (waiting ? statusLine.dataset.waiting : "");
      statusLine.textContent = text.replace("%(n)s", String(waiting));
      return lists;
    });
  }
  function heartbeat() {
    showStatus().then(function (lists) {
      return fetch("/api/v1/kiosk/heartbeat", {
        method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ app_version: VERSION, queued: lists[0].length, dead_letters: lists[1].length })
      });
    }).then(function (reply) { if (reply.status === 401) { revoked = true; showStatus(); } })
      .catch(function () {});
  }

  // --- Sync: send the outbox through the batch endpoint; every item gets a definite answer ---
  // Stored ("created", "updated", "duplicate"): deleted from the outbox. Refused ("invalid",
  // "rejected", or a whole batch refused item by item): moved to the dead-letter list, kept on
  // the kiosk for staff and never sent again. A server error, 429 or a network failure: kept,
  // and sent again after an exponential backoff (5 s doubling to 5 min), or after the server's
  // Retry-After when that is longer.
  var BATCH = 20, MIN_BACKOFF = 5000, MAX_BACKOFF = 300000, TAKEN = ["created", "updated", "duplicate"];
  var batchSize = BATCH;
  function scheduleSync(delay) {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(sync, delay);
  }
  function deadLetter(item, errors) {
    item.errors = errors || [];
    return put("deadletter", item).then(function () { return remove("outbox", item.id); });
  }
  function settle(items, results) {
    return Promise.all(items.map(function (item, i) {
      var result = results[i];
      if (!result) { return null; }  // no answer for it: it stays queued
      if (TAKEN.indexOf(result.status) >= 0) { return remove("outbox", item.id); }
      return deadLetter(item, result.errors);
    }));
  }
  // The backoff survives the page changes of the next citizens (kept beside the outbox).
  var notBefore = 0;
  function remember(delay) {
    notBefore = delay ? Date.now() + delay : 0;
    return put("state", { name: "retry", backoff: backoff, notBefore: notBefore });
  }
  function retryLater(reply) {
    var wait = reply ? Number(reply.headers.get("Retry-After")) * 1000 : 0;
    backoff = Math.min(backoff * 2, MAX_BACKOFF);
    var delay = Math.max(backoff, isFinite(wait) ? Math.min(wait, 3600000) : 0);
    scheduleSync(delay);
    return remember(delay);
  }
  function resumeSync() {
    return get("state", "retry").then(function (state) {
      var left = state ? state.notBefore - Date.now() : 0;
      if (left > 0) { backoff = state.backoff; notBefore = state.notBefore; }
      scheduleSync(Math.max(left, 0));
    }, function () { scheduleSync(0); });
  }
  function refusedWhole(items, reply) {
    if (items.length > 1) {  // find the item it refuses: send fewer at a time
      batchSize = Math.ceil(items.length / 2);
      return scheduleSync(0);
    }
    return reply.json().catch(function () { return {}; }).then(function (data) {
      return deadLetter(items[0], data.errors || [{ field: null, message: String(reply.status) }]);
    }).then(function () { scheduleSync(0); });
  }
  var running = null;  // one sync at a time: an "online" event and a timer must not both send
  function sync() {
    if (!running) {
      var done = function () { running = null; };
      running = syncOnce().then(done, done);
    }
    return running;
  }
  function syncOnce() {
    return all("outbox").then(function (items) {
      if (!items.length) { backoff = MIN_BACKOFF; return showStatus(); }
      items = items.slice(0, batchSize);
      return fetch("/api/v1/responses/batch", {
        method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ responses: items })
      }).then(function (reply) {
        if (reply.status === 401) { revoked = true; throw new Error("revoked"); }
        revoked = false;
        if (reply.status === 429 || reply.status >= 500) { return retryLater(reply); }
        if (!reply.ok) { return refusedWhole(items, reply); }
        return reply.json().then(function (data) { return settle(items, data.results || []); })
          .then(function () {
            backoff = MIN_BACKOFF;
            batchSize = BATCH;
            if (notBefore) { remember(0); }
            return all("outbox").then(function (left) { if (left.length) { scheduleSync(500); } });
          });
      }).catch(function () { retryLater(null); }).then(showStatus);
    });
  }

  // --- Turning a page's form into an outbox item ---
  // The form's fields and the button tapped: a face tile of the overall question is a button
  // whose name and value are the answer.
  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    return data;
  }
  // Send the form the plain way (the server explains a problem on its own page), keeping the
  // button tapped: form.submit() alone would leave out its answer.
  function submitPlain(form, submitter) {
    if (submitter && submitter.name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = submitter.name;
      field.value = submitter.value;
      form.appendChild(field);
    }
    form.submit();
  }
  // The profile page's options (its fields are named by the lowercase profile item codes).
  function profileFrom(form) {
    var profile = {};
    new FormData(form).forEach(function (value, name) {
      var own = name === "action" || name === "csrf_token";
      if (/^[a-z][a-z_]*$/.test(name) && !own && value) { profile[name] = value; }
    });
    return profile;
  }
  function itemFrom(form, submitter) {
    var data = formData(form, submitter), answers = {}, expectations = {}, comment = null;
    if (form.dataset.step === "profile") { data = new FormData(); }
    data.forEach(function (value, name) {
      if (/^EX\d+$/.test(name)) { expectations[name.slice(2)] = value === "na" ? null : Number(value); }
      else if (name === "comment") { comment = value || null; }
      else if (/^[A-Z]{2}\d*$/.test(name)) { answers[name] = value === "na" ? null : Number(value); }
    });
    return {
      id: form.dataset.rid || data.get("rid"), service: form.dataset.service,
      captured_at: new Date().toISOString(), locale: document.documentElement.lang,
      answers: answers, expectations: expectations, comment: comment,
      status: form.dataset.final ? "complete" : "partial"
    };
  }
  function showOfflineThanks() {
    var main = document.getElementById("main");
    main.innerHTML = "";
    main.appendChild(document.getElementById("offline-thanks").content.cloneNode(true));
    startThanksTimer();
  }
  // Offline on the profile page: the response was sent already; its profile is queued alone
  // (the server adds it to the sent response). "Skip", or nothing chosen: nothing to queue.
  function queueProfile(form, skipped) {
    var item = itemFrom(form), profile = skipped ? {} : profileFrom(form);
    if (!Object.keys(profile).length) { return showOfflineThanks(); }
    item.profile = profile;
    return put("outbox", item).then(showStatus).then(showOfflineThanks);
  }
  // Offline on the comment page: the rating is queued, then the profile is asked on the spot
  // (a copy kept in the page) and, when answered, travels in the same queued item.
  var pending = null;
  function askProfile(item) {
    var template = document.getElementById("offline-profile");
    if (!template) { return showOfflineThanks(); }
    pending = item;
    var main = document.getElementById("main");
    main.innerHTML = "";
    main.appendChild(template.content.cloneNode(true));
    var first = main.querySelector("h1");
    if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
  }
  function finishOfflineProfile(form, skipped) {
    var profile = skipped ? {} : profileFrom(form), item = pending;
    pending = null;
    if (!item || !Object.keys(profile).length) { return showOfflineThanks(); }
    item.profile = profile;
    return put("outbox", item).then(showStatus).then(showOfflineThanks);
  }
  function queueAndThank(form, skipped, submitter) {
    if (form.dataset.step === "profile") { return queueProfile(form, skipped); }
    var item = itemFrom(form, submitter);
    if (!item.id || !item.service || !Object.keys(item.answers).length && form.dataset.step === "ov") {
      return submitPlain(form, submitter);
    }
    var next = form.dataset.step === "comment" ? function () { askProfile(item); } : showOfflineThanks;
    put("outbox", item).then(showStatus).then(next);
    scheduleSync(Math.max(backoff, notBefore - Date.now()));
  }

  // --- Forms: one tap sends once; a network failure or a server error queues the rating ---
  document.addEventListener("submit", function (event) {
    var form = event.target, submitter = event.submitter;
    var skipped = !!submitter && submitter.value === "skip";
    if (form.dataset.offlineProfile) { event.preventDefault(); return finishOfflineProfile(form, skipped); }
    if (form.dataset.callBack) { event.preventDefault(); return sendCallBack(form); }
    if (!form.dataset.service) { return; }
    event.preventDefault();
    if (form.dataset.sending) { return; }
    form.dataset.sending = "1";
    var button = submitter || form.querySelector("[type=submit]");
    if (button) { button.setAttribute("aria-busy", "true"); }
    fetch(form.action, { method: "POST", body: formData(form, submitter), credentials: "same-origin" })
      .then(function (reply) {
        if (reply.ok) { location.assign(reply.url); }
        else if (reply.status >= 500) { queueAndThank(form, skipped, submitter); }
        else { submitPlain(form, submitter); }  // the server explains the problem on its own page
      })
      .catch(function () { queueAndThank(form, skipped, submitter); });
  });

  // --- The call-back number: sent only while online, never queued; dropped if the send fails ---
  function sendCallBack(form) {
    if (form.dataset.sending) { return; }
    form.dataset.sending = "1";
    // Not followed here: the thank-you page shows the withdrawal code once, to the browser.
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual" })
      .then(function (reply) {
        if (reply.type === "opaqueredirect") { location.assign(form.dataset.next); } else { submitPlain(form); }
      })
      .catch(function () { form.reset(); showOfflineThanks(); });
  }
  function startKeypad(pad) {
    var field = document.getElementById("phone-1"), count = document.getElementById("phone-count");
    pad.addEventListener("click", function (event) {
      var key = event.target.closest("[data-digit]");
      if (!key) { return; }
      var digit = key.dataset.digit, text = field.value;
      text = digit === "back" ? text.slice(0, -1) : digit === "clear" ? "" : (text + digit).slice(0, 14);
      field.value = text;
      count.textContent = count.dataset.template.replace("%(n)s", String(text.length));
    });
  }

  // --- Idle: a dialog after 60 s, a 30 s countdown, then everything is cleared ---
  function reset() {
    try { sessionStorage.clear(); localStorage.clear(); } catch (e) { /* storage disabled */ }
    Array.prototype.forEach.call(document.forms, function (f) { f.reset(); });
    var done = function () { location.replace(home); };
    var form = new FormData();
    form.append("csrf_token", body.dataset.csrf);
    fetch(resetUrl, { method: "POST", body: form, credentials: "same-origin" }).then(done, done);
  }
  function startIdle() {
    clearTimeout(idleTimer);
    if (atHome || dialog.open) { return; }
    idleTimer = setTimeout(function () {
      var left = COUNTDOWN, seconds = document.getElementById("idle-seconds");
      seconds.textContent = String(left);
      dialog.showModal();
      countdownTimer = setInterval(function () {
        left -= 1;
        seconds.textContent = String(left);
        if (left <= 0) { clearInterval(countdownTimer); reset(); }
      }, 1000);
    }, IDLE_MS);
  }
  document.getElementById("idle-continue").addEventListener("click", function () {
    clearInterval(countdownTimer);
    dialog.close();
    startIdle();
  });
  document.getElementById("idle-restart").addEventListener("click", function () {
    clearInterval(countdownTimer);
    reset();
  });
  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (name) {
    document.addEventListener(name, function () { if (!dialog.open) { startIdle(); } }, true);
  });

  // --- The thank-you page returns to the start by itself, and shows when ---
  function startThanksTimer() {
    clearTimeout(idleTimer);
    var done = document.querySelector("[data-done]"), left = THANKS_MS / 1000;
    var shown = document.getElementById("thanks-countdown").content.cloneNode(true);
    var seconds = shown.querySelector(".countdown-seconds");
    seconds.textContent = String(left);
    done.parentNode.parentNode.insertBefore(shown, done.parentNode);
    var timer = setInterval(function () {
      left -= 1;
      seconds.textContent = String(Math.max(left, 0));
      if (left <= 0) { clearInterval(timer); reset(); }
    }, 1000);
  }

  // --- The procedures' on-screen keyboard: the keys type, the tiles filter as they are typed ---
  // Each tile carries the words the server's search looks in, folded (no case, no diacritics);
  // the keys type only plain letters, digits and spaces, so the query needs no folding.
  function filterTiles(query) {
    var words = query.trim().split(/\s+/).filter(Boolean), found = 0;
    Array.prototype.forEach.call(document.querySelectorAll(".field-group"), function (group) {
      var shown = 0;
      Array.prototype.forEach.call(group.querySelectorAll("li[data-words]"), function (li) {
        var hit = words.every(function (w) { return li.dataset.words.indexOf(w) >= 0; });
        li.hidden = !hit;
        if (hit) { shown += 1; }
      });
      // The most rated ones are shown only without a search, as the server does.
      group.hidden = !shown || (words.length > 0 && group.classList.contains("frequent"));
      if (!group.hidden) { found += shown; }
      var chip = document.querySelector("[data-group='" + group.getAttribute("aria-labelledby") + "']");
      if (chip) { chip.hidden = group.hidden; }
    });
    var status = document.getElementById("search-status");
    status.hidden = !words.length || found > 0;
    status.textContent = status.hidden ? "" : status.dataset.none.replace("%(query)s", query.trim());
  }
  function startKeyboard(form) {
    var field = form.querySelector("#q"), search = form.querySelector("button[type=submit]:not([data-key])");
    form.addEventListener("click", function (event) {
      var key = event.target.closest("[data-key]");
      if (!key) { return; }
      event.preventDefault();
      var text = field.value, name = key.dataset.key;
      text = name === "back" ? text.slice(0, -1) : name === "clear" ? "" : (text + name).slice(0, 100);
      field.value = text;
      search.value = text;
      filterTiles(text);
    });
  }

  // --- Start ---
  var rid = document.querySelector("input[name=rid]");
  if (rid && window.crypto && crypto.randomUUID) {
    rid.value = crypto.randomUUID();  // a page from the cache must not reuse an earlier id
    rid.form.dataset.rid = rid.value;
  }
  if (document.querySelector("[data-done]")) { startThanksTimer(); } else { startIdle(); }
  var keypad = document.querySelector(".keypad");
  if (keypad) { startKeypad(keypad); }
  var keyboard = document.querySelector("form[data-keyboard]");
  if (keyboard) { startKeyboard(keyboard); }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(body.dataset.sw, { scope: home }).catch(function () {});
  }
  window.addEventListener("online", function () { backoff = MIN_BACKOFF; remember(0); scheduleSync(0); });
  window.kioskQueue = { all: all, sync: sync };  // for staff tools and tests
  resumeSync();
  heartbeat();
  setInterval(heartbeat, 60000);
})();

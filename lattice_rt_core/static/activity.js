// The activity page: live feed and presence over a streamed fetch (SSE).
//
// The server hands the page a one-time launch code (a <meta>, only for a link the
// browser opened itself); this script exchanges it for a session id, keeps that in
// localStorage (this origin's alone: scheme, host and port) and sends it as
// "Authorization: Session <id>". No cookie is a credential: a browser sends cookies
// to every port of the host (SECURITY.md). Every piece of server data is put into
// the page with textContent, never as HTML.
(function () {
  "use strict";

  var MAX_ROWS = 300;
  var FEED_LIMIT = 50;
  var RETRY_MIN = 2000;
  var RETRY_MAX = 30000;

  var statusEl = document.getElementById("status");
  var statusText = document.getElementById("status-text");
  var mainEl = document.getElementById("main");
  var signinEl = document.getElementById("signin");
  var feedEl = document.getElementById("feed");
  var feedEmpty = document.getElementById("feed-empty");
  var feedLoading = document.getElementById("feed-loading");
  var feedCount = document.getElementById("feed-count");
  var moreEl = document.getElementById("more");
  var filters = window.LatticeFilters.create({
    feed: feedEl,
    workspace: document.getElementById("filter-workspace"),
    area: document.getElementById("filter-area"),
    text: document.getElementById("filter-text"),
    nomatch: document.getElementById("feed-nomatch"),
    noWorkspace: window.LatticeWording.NO_WORKSPACE,
    changed: function () { refreshFeedMeta(); },
  });
  var presenceEl = document.getElementById("presence");
  var presenceEmpty = document.getElementById("presence-empty");
  var presenceLoading = document.getElementById("presence-loading");
  var presenceCount = document.getElementById("presence-count");
  var footerEl = document.getElementById("footer");

  // where this origin keeps its session id (localStorage: it outlives a browser restart)
  var SESSION_KEY = "lattice-rt.session";

  var seen = new Set();
  var lastSeq = null;
  var lastEventId = "";  // the stream's last "id:", sent back on a reconnect (as EventSource does)
  var serverRetry = RETRY_MIN;
  var session = null;
  var stream = null;  // the open stream's AbortController
  var retryDelay = RETRY_MIN;
  var signedOut = false;
  var presenceTimer = null;
  var presenceBusy = false;
  var presenceAgain = false;
  // Until the feed (or the stream's replay) and presence first answer, the page says
  // it is loading: "nobody is present" before anyone asked the server would be a guess.
  var feedKnown = false;
  var rowCap = MAX_ROWS;  // rows kept; grows with each older page asked for
  var nextBefore = null;  // the feed's "before" for the next older page (null: none kept)
  var moreBusy = false;
  var moreInView = false;
  var el = window.LatticeDom.el;  // presence.js
  var plural = window.LatticeDom.plural;
  var Wording = window.LatticeWording;  // wording.js: the app's words for an event
  var NO_WORKSPACE = Wording.NO_WORKSPACE;

  // ------------------------------------------------------------ helpers
  function setStatus(state, text) {
    statusEl.setAttribute("data-state", state);
    statusText.textContent = text;
  }

  var Time = window.LatticeTime;  // timefmt.js

  // A <time> that says when, as the app does ("3 min ago"), with the whole time as its
  // tooltip; refreshTimes() words it again as time passes.
  function timeEl(stamp) {
    var node = el("time", "time", Time.eventTime(stamp, new Date()));
    node.setAttribute("datetime", stamp);
    node.title = Time.fullTime(stamp);
    return node;
  }

  function valueText(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value);
    } catch (err) {
      return String(value);
    }
  }

  // --------------------------------------------------------------- feed
  // A row as the app's Activity window says it: when, the workspace, the title (a
  // failure marked), the summary and who.
  function eventRow(event, fresh) {
    var failed = Wording.isFailure(event);
    var row = el("li", "row event" + (failed ? " failure" : "") + (fresh ? " fresh" : ""));
    row.setAttribute("data-seq", String(event.seq));
    row.setAttribute("data-workspace", Wording.workspaceLabel(event));
    row.setAttribute("data-area", Wording.humanize(event.area || "workspace"));  // the app's Area
    var stamp = event.received_at || event.timestamp || "";
    var time = timeEl(String(stamp));
    var ws = Wording.actedWorkspace(event);
    var chip = el("span", ws !== null ? "chip" : "chip none", Wording.workspaceLabel(event));
    chip.title = ws !== null ? "workspace " + ws : "not tied to a workspace";
    var what = el("span", "what");
    var title = Wording.eventTitle(event);
    if (failed) {
      var mark = el("span", "failure-mark", "✖ ");
      mark.title = "Failed";
      what.append(mark);
    }
    what.append(el("span", "title", title));
    what.title = String(event.area) + "/" + String(event.event_type);
    var line = Wording.eventSummary(event);
    var presence = event.area === "presence";
    // a presence row's summary is its title and workspace again: only a reason is news
    var reason = event.payload && typeof event.payload === "object" ? event.payload.reason : null;
    if (presence && (!reason || reason === "left")) line = "";
    var sum = el("span", "summary", line);
    if (failed) sum.title = Wording.failureLine(event);
    var actor = Wording.eventActor(event);
    if (actor && !presence) sum.append(el("span", "actor", (line ? " — " : "") + actor));
    row.append(time, chip, what, sum);
    return row;
  }

  function noticeRow(kind, text, detail) {
    var row = el("li", "row notice fresh");
    row.setAttribute("data-kind", kind);
    var label = el("span", "notice-text", text);
    row.append(timeEl(new Date().toISOString()), label);
    if (detail) label.append(el("span", "notice-detail", detail));
    return row;
  }

  // Filter the rows (filters.js), then say how many there are and how many are shown.
  function refreshFeedMeta() {
    var counts = filters.apply();
    var events = counts[1];
    feedLoading.hidden = feedKnown;
    feedEmpty.hidden = !feedKnown || feedEl.children.length > 0;
    var count = events ? plural(events, "event") : "";
    feedCount.textContent = events && filters.active() ? counts[0] + " of " + count : count;
  }

  // Trim the feed to its rows' cap, then put a date separator above each day's rows
  // (not above a feed of today alone: the times say "today" already), then the counts.
  function settleFeed() {
    feedEl.querySelectorAll("li.day").forEach(function (node) { node.remove(); });
    var trimmed = false;
    while (feedEl.children.length > rowCap) {
      var last = feedEl.lastElementChild;
      var seq = Number(last.getAttribute("data-seq"));
      if (Number.isFinite(seq)) seen.delete(seq);
      last.remove();
      trimmed = true;
    }
    if (trimmed) showMore(oldestShown());  // what fell off the end can be asked for again
    markDays(new Date());
    refreshFeedMeta();
  }

  function markDays(now) {
    var previous;
    var top = null;
    Array.from(feedEl.children).forEach(function (row, index) {
      var stamp = row.querySelector("time") ? row.querySelector("time").getAttribute("datetime") : "";
      var day = Time.dayKey(stamp);
      if (index > 0 && day === previous) return;
      previous = day;
      var separator = el("li", "day", Time.dayLabel(stamp, now));
      separator.setAttribute("role", "separator");
      if (index === 0) top = separator;  // "Today" above a feed of today alone says nothing
      else feedEl.insertBefore(separator, row);
    });
    if (top && (top.textContent !== "Today" || feedEl.querySelector("li.day"))) {
      feedEl.prepend(top);
    }
  }

  // Every minute on the minute: "just now" becomes "1 min ago", today becomes yesterday.
  function refreshTimes() {
    var now = new Date();
    feedEl.querySelectorAll("time").forEach(function (node) {
      var text = Time.eventTime(node.getAttribute("datetime"), now);
      if (node.textContent !== text) node.textContent = text;
    });
    settleFeed();
    setTimeout(refreshTimes, 60000 - (now.getTime() % 60000));
  }

  function oldestShown() {
    var rows = feedEl.querySelectorAll("li.event");
    var seq = rows.length ? Number(rows[rows.length - 1].getAttribute("data-seq")) : NaN;
    return Number.isFinite(seq) ? seq : null;
  }

  function showMore(before) {
    nextBefore = typeof before === "number" && before > 1 ? before : null;
    moreEl.hidden = nextBefore === null;
  }

  // The next older page of the feed, below the oldest row (the button, or its coming
  // into view at the end of the feed).
  function loadOlder() {
    if (moreBusy || nextBefore === null || signedOut) return;
    moreBusy = true;
    moreEl.disabled = true;
    moreEl.textContent = "Loading older events…";
    getJson("/realtime/feed?limit=" + FEED_LIMIT + "&before=" + nextBefore)
      .then(function (body) {
        if (!body) return;
        var events = Array.isArray(body.events) ? body.events : [];
        events.forEach(function (event) {  // older than every row shown: they go last
          if (remember(event)) feedEl.append(eventRow(event, false));
        });
        rowCap = Math.max(rowCap, feedEl.querySelectorAll("li.row").length);
        settleFeed();
        showMore(body.next_before);
      })
      .catch(function () { /* the button stays: another try */ })
      .finally(function () {
        moreBusy = false;
        moreEl.disabled = false;
        moreEl.textContent = "Show older events";
        if (moreInView) loadOlder();  // still at the end of the feed: the next page
      });
  }

  moreEl.addEventListener("click", loadOlder);
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      moreInView = entries[entries.length - 1].isIntersecting;
      if (moreInView) loadOlder();
    }).observe(moreEl);
  }

  function remember(event) {
    if (!event || typeof event !== "object") return false;
    var seq = Number(event.seq);
    if (Number.isFinite(seq)) {
      if (seen.has(seq)) return false;
      seen.add(seq);
      if (lastSeq === null || seq > lastSeq) lastSeq = seq;
    }
    return true;
  }

  function addLive(event) {
    if (!remember(event)) return;
    feedEl.prepend(eventRow(event, true));
    settleFeed();
    if (event.area === "presence") schedulePresence();
  }

  function addNotice(row) {
    feedEl.prepend(row);
    settleFeed();
  }

  // ----------------------------------------------------------- presence
  // The server groups the entries into people and words them (lattice_rt_core/protocol/
  // people.py, the rule lattice-rt presence and the tray app use): this shows what it says.
  function renderPresence(body) {
    var people = Array.isArray(body.people) ? body.people : [];
    presenceEl.replaceChildren.apply(presenceEl, window.LatticePresence.groups(people));
    presenceLoading.hidden = true;
    presenceEmpty.hidden = people.length > 0;
    presenceCount.textContent = people.length && typeof body.summary === "string" ? body.summary : "";
  }

  function loadPresence() {
    if (presenceBusy) {
      presenceAgain = true;
      return;
    }
    presenceBusy = true;
    getJson("/realtime/presence")
      .then(function (body) {
        if (body && Array.isArray(body.people)) renderPresence(body);
      })
      .catch(function () { /* the stream's state shows connection trouble */ })
      .finally(function () {
        presenceBusy = false;
        if (presenceAgain) {
          presenceAgain = false;
          loadPresence();
        }
      });
  }

  function schedulePresence() {
    // Several presence events in a burst cause one refresh.
    clearTimeout(presenceTimer);
    presenceTimer = setTimeout(loadPresence, 100);
  }

  // ------------------------------------------------------------- network
  function request(url, options) {
    options = options || {};
    var headers = { Authorization: "Session " + session };
    return fetch(url, {
      headers: headers, credentials: "omit", cache: "no-store", signal: options.signal,
    });
  }

  function getJson(url) {
    return request(url).then(function (response) {
      if (response.status === 401) {
        endSession();
        return null;
      }
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.json();
    });
  }

  function readSession() {
    try {
      return window.localStorage.getItem(SESSION_KEY);
    } catch (err) {
      return null;  // storage turned off: this page cannot stay signed in
    }
  }

  function keepSession(value) {
    try {
      if (value === null) window.localStorage.removeItem(SESSION_KEY);
      else window.localStorage.setItem(SESSION_KEY, value);
    } catch (err) { /* kept for this page only */ }
  }

  // The launch code the server handed this page, if any: exchanged once, then gone
  // from the page and from the address bar.
  function takeCode() {
    var meta = document.querySelector('meta[name="lrt-code"]');
    var code = meta ? meta.getAttribute("content") : "";
    if (!code) return "";
    meta.setAttribute("content", "");
    history.replaceState(null, "", location.pathname);  // no code in the address bar or history
    return code;
  }

  function exchange(code) {
    return fetch("/realtime/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code }),
      credentials: "omit",
      cache: "no-store",
    }).then(function (response) {
      if (response.status === 401) return null;
      if (!response.ok) throw new Error("/realtime/session answered " + response.status);
      return response.json().then(function (body) {
        return body && typeof body.session === "string" ? body.session : null;
      });
    });
  }

  // The sign-in page: why this browser is not signed in, and how to get a link.
  function notSignedIn(state, label, title, reason) {
    signedOut = true;
    setStatus(state, label);
    document.getElementById("signin-title").textContent = title;
    document.getElementById("signin-reason").textContent = reason;
    mainEl.hidden = true;
    footerEl.hidden = true;
    signinEl.hidden = false;
  }

  function endSession() {
    if (signedOut) return;
    if (stream) stream.abort();
    if (readSession() === session) keepSession(null);
    notSignedIn("signed-out", "Signed out", "Your session has ended",
      "This browser's session has ended (the server forgot it, or it expired). "
      + "Sign in again with a new link.");
  }

  function showUser() {
    return getJson("/realtime/health").then(function (body) {
      if (body && typeof body.user === "string") {
        footerEl.setAttribute("data-user", body.user);
        showFooter();
      }
    }, function () { /* the stream's state shows connection trouble */ });
  }

  var footerStats = [];

  function showFooter() {
    var user = footerEl.getAttribute("data-user");
    var parts = footerStats.slice();
    if (user !== null) parts.unshift("signed in as " + user);
    footerEl.textContent = parts.join(" · ");
  }

  function showStats(stats) {
    if (!stats || typeof stats !== "object") return;
    var parts = [];
    if (stats.server_version) parts.push("lattice-rt " + stats.server_version);
    if (stats.version) parts.push("protocol " + stats.version);
    if (stats.journal) parts.push("journal " + stats.journal);
    footerStats = parts;
    showFooter();
  }

  function loadFeed() {
    return getJson("/realtime/feed?limit=" + FEED_LIMIT).then(function (body) {
      if (!body) return;
      feedKnown = true;
      var events = Array.isArray(body.events) ? body.events : [];
      events.forEach(function (event) {  // newest first, as the server sends them
        if (remember(event)) feedEl.append(eventRow(event, false));
      });
      settleFeed();
      showMore(body.next_before);
      showStats(body.stats);
    });
  }

  function onGap(data) {
    var body;
    try {
      body = JSON.parse(data);
    } catch (err) {
      return;
    }
    var missed = Number(body.missed) || 0;
    var why = body.reason === "retention" ? "no longer kept by the server" : "this page fell behind";
    addNotice(noticeRow(
      "gap",
      missed + (missed === 1 ? " event missed" : " events missed"),
      "seq " + body.from_seq + "–" + body.to_seq + ", " + why
    ));
  }

  function onReset(data) {
    var body = {};
    try {
      body = JSON.parse(data);
    } catch (err) { /* show the notice anyway */ }
    // The server's history restarted below what we saw: old seqs mean new events now.
    seen.clear();
    lastSeq = null;
    addNotice(noticeRow("reset", "The server's history was reset",
      "now at seq " + valueText(body.server_seq)));
  }

  function onFrame(type, data) {
    if (type === "gap") return onGap(data);
    if (type === "reset") return onReset(data);
    if (type !== "" && type !== "message") return;
    var event;
    try {
      event = JSON.parse(data);
    } catch (err) {
      return;
    }
    addLive(event);
  }

  function connect() {
    if (signedOut) return;
    var url = "/realtime/stream";
    // Resume right after what the feed (or the last stream) showed.
    var resume = lastEventId || (lastSeq !== null ? String(lastSeq) : "");
    if (resume) url += "?last_event_id=" + encodeURIComponent(resume);
    var controller = new AbortController();
    stream = controller;
    var opened = false;
    request(url, { signal: controller.signal })
      .then(function (response) {
        if (response.status === 401) {
          endSession();
          return;
        }
        if (!response.ok || !response.body) throw new Error("the stream answered " + response.status);
        opened = true;
        feedKnown = true;  // the stream replays what the feed could not show
        refreshFeedMeta();
        retryDelay = RETRY_MIN;
        setStatus("connected", "Live");
        loadPresence();
        return window.LatticeSse.read(response.body.getReader(), {
          frame: onFrame,
          id: function (id) { lastEventId = id; },
          retry: function (ms) { serverRetry = ms; },
        });
      })
      .catch(function () { /* retried below */ })
      .then(function () {
        if (signedOut || stream !== controller) return;
        var delay;
        if (opened) {  // the stream ended: reconnect after the server's hint
          setStatus("reconnecting", "Reconnecting…");
          delay = serverRetry;
        } else {  // it did not open: back off
          setStatus("offline", "Offline, retrying");
          delay = retryDelay;
          retryDelay = Math.min(retryDelay * 2, RETRY_MAX);
        }
        setTimeout(connect, delay);
      });
  }

  function start() {
    session = readSession();
    if (!session) {
      notSignedIn("signed-out", "Not signed in", "Sign in to see activity",
        "This browser is not signed in to this server yet.");
      return;
    }
    showUser();
    setTimeout(refreshTimes, 60000 - (Date.now() % 60000));
    loadFeed()
      .catch(function () { /* the stream still starts; it replays a short tail */ })
      .finally(function () {
        refreshFeedMeta();
        connect();
      });
  }

  var code = takeCode();
  if (!code) {
    start();
  } else {
    exchange(code).then(function (fresh) {
      if (fresh === null) {
        notSignedIn("signed-out", "Not signed in", "This link has expired",
          "The sign-in link was already used, or it is too old.");
        return;
      }
      keepSession(fresh);
      start();
    }, function () {
      notSignedIn("offline", "Not signed in", "Could not sign in",
        "The server did not answer. Check that it is running, then get a new link.");
    });
  }
})();

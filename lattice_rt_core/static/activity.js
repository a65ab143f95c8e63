// The activity page: live feed and presence over EventSource.
//
// The browser is signed in by a session cookie (set by a one-time launch code),
// which same-origin fetch and EventSource send on their own. Every piece of
// server data is put into the page with textContent, never as HTML.
(function () {
  "use strict";

  var MAX_ROWS = 300;
  var FEED_LIMIT = 50;
  var RETRY_MIN = 2000;
  var RETRY_MAX = 30000;

  var statusEl = document.getElementById("status");
  var statusText = document.getElementById("status-text");
  var bannerEl = document.getElementById("banner");
  var feedEl = document.getElementById("feed");
  var feedEmpty = document.getElementById("feed-empty");
  var feedCount = document.getElementById("feed-count");
  var presenceEl = document.getElementById("presence");
  var presenceEmpty = document.getElementById("presence-empty");
  var presenceCount = document.getElementById("presence-count");
  var footerEl = document.getElementById("footer");

  var seen = new Set();
  var lastSeq = null;
  var source = null;
  var retryDelay = RETRY_MIN;
  var signedOut = false;
  var presenceTimer = null;
  var presenceBusy = false;
  var presenceAgain = false;
  // what a presence entry's status says, in words (the server's statuses)
  var STATUS_LABELS = { active: "Active", idle: "Idle", away: "Away", dnd: "Do not disturb" };
  // the name of "no workspace", as the CLI and the tray app say it (lattice_rt_core/people.py)
  var NO_WORKSPACE = "No workspace";

  // ------------------------------------------------------------ helpers
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(state, text) {
    statusEl.setAttribute("data-state", state);
    statusText.textContent = text;
  }

  function showBanner(parts) {
    bannerEl.replaceChildren();
    parts.forEach(function (part) {
      bannerEl.append(part.code ? el("code", null, part.code) : document.createTextNode(part));
    });
    bannerEl.hidden = false;
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (!iso || isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function shorten(text, limit) {
    text = String(text);
    return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
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

  function plural(count, singular, pluralForm) {
    return count + " " + (count === 1 ? singular : pluralForm || singular + "s");
  }

  function personName(entry) {
    if (!entry || typeof entry !== "object") return "someone";
    return entry.display_name || entry.user || entry.client_id || "someone";
  }

  function statusLabel(entry) {
    var status = entry && typeof entry.status === "string" ? entry.status : "active";
    return Object.prototype.hasOwnProperty.call(STATUS_LABELS, status) ? STATUS_LABELS[status] : status;
  }

  function statusLine(entry) {
    var text = entry && entry.status_text ? String(entry.status_text) : "";
    return statusLabel(entry) + (text ? ": " + text : "");
  }

  function summary(event) {
    var payload = event.payload;
    if (event.area === "presence" && payload && typeof payload === "object") {
      if (event.event_type === "status") return personName(payload) + " is now " + statusLine(payload);
      var verb = event.event_type === "join" ? "joined" : event.event_type === "leave" ? "left" : event.event_type;
      var text = personName(payload) + " " + verb;
      if (payload.reason === "timeout") text += " (timed out)";
      return text;
    }
    if (payload === null || payload === undefined) return "";
    if (typeof payload !== "object" || Array.isArray(payload)) return shorten(valueText(payload), 160);
    var keys = Object.keys(payload);
    var parts = keys.slice(0, 4).map(function (key) {
      return key + ": " + shorten(valueText(payload[key]), 60);
    });
    if (keys.length > 4) parts.push("+" + (keys.length - 4) + " more");
    return parts.join(" · ");
  }

  function hueClass(text) {
    var hash = 0;
    for (var i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return "hue-" + (Math.abs(hash) % 8);
  }

  // --------------------------------------------------------------- feed
  function eventRow(event, fresh) {
    var row = el("li", "row event" + (fresh ? " fresh" : ""));
    row.setAttribute("data-seq", String(event.seq));
    var stamp = event.received_at || event.timestamp || "";
    var time = el("time", "time", formatTime(stamp));
    time.setAttribute("datetime", String(stamp));
    var ws = event.workspace_id;
    var chip = el("span", ws ? "chip" : "chip none", ws || NO_WORKSPACE);
    chip.title = ws ? "workspace " + ws : "not tied to a workspace";
    var what = el("span", "what");
    what.append(el("span", "area", event.area), el("span", "sep", "/"), el("span", "type", event.event_type));
    var sum = el("span", "summary", summary(event));
    if (event.actor && event.area !== "presence") sum.append(el("span", "actor", " — " + event.actor));
    row.append(time, chip, what, sum);
    return row;
  }

  function noticeRow(kind, text, detail) {
    var row = el("li", "row notice fresh");
    row.setAttribute("data-kind", kind);
    var label = el("span", "notice-text", text);
    row.append(el("span", "time", formatTime(new Date().toISOString())), label);
    if (detail) label.append(el("span", "notice-detail", detail));
    return row;
  }

  function refreshFeedMeta() {
    var events = feedEl.querySelectorAll("li.event").length;
    feedEmpty.hidden = feedEl.children.length > 0;
    feedCount.textContent = events ? plural(events, "event") : "";
  }

  function trimFeed() {
    while (feedEl.children.length > MAX_ROWS) {
      var last = feedEl.lastElementChild;
      var seq = Number(last.getAttribute("data-seq"));
      if (Number.isFinite(seq)) seen.delete(seq);
      last.remove();
    }
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
    trimFeed();
    refreshFeedMeta();
    if (event.area === "presence") schedulePresence();
  }

  function addNotice(row) {
    feedEl.prepend(row);
    trimFeed();
    refreshFeedMeta();
  }

  // ----------------------------------------------------------- presence
  // The server groups the entries into people and words them (lattice_rt_core/protocol/
  // people.py, the rule lattice-rt presence and the tray app use): this shows what it says.
  function renderPresence(body) {
    var people = Array.isArray(body.people) ? body.people : [];
    var groups = new Map();  // in the server's order: workspaces by name, the one without last
    people.forEach(function (person) {
      var key = person.workspace_id || "";
      if (!groups.has(key)) groups.set(key, { title: person.workspace || NO_WORKSPACE, people: [] });
      groups.get(key).people.push(person);
    });
    var nodes = Array.from(groups.keys()).map(function (key) {
      var found = groups.get(key);
      var group = el("section", "group");
      group.setAttribute("data-workspace", key);
      var head = el("h3");
      head.append(el("span", null, found.title), el("span", "muted", String(found.people.length)));
      head.title = plural(found.people.length, "person", "people");
      var list = el("ul", "people");
      found.people.forEach(function (person) { list.append(personRow(person)); });
      group.append(head, list);
      return group;
    });
    presenceEl.replaceChildren.apply(presenceEl, nodes);
    presenceEmpty.hidden = people.length > 0;
    presenceCount.textContent = people.length && typeof body.summary === "string" ? body.summary : "";
  }

  function personRow(person) {
    var name = String(person.name || "someone");
    var item = el("li", "person");
    item.setAttribute("data-client-id", String(person.client_id || ""));
    var status = typeof person.status === "string" ? person.status : "active";
    var label = String(person.label || status);
    item.setAttribute("data-status", status);
    var avatar = el("span", "avatar " + hueClass(name), name.charAt(0).toUpperCase());
    avatar.setAttribute("aria-hidden", "true");
    avatar.setAttribute("data-status", status);
    var dot = el("span", "presence-dot");
    dot.title = label;
    avatar.append(dot);
    var who = el("div", "who");
    var line = el("div", "person-status");
    line.append(el("span", "status-label", label));
    if (person.status_text) line.append(el("span", "status-text", " · " + person.status_text));
    line.title = label + (person.status_text ? ": " + person.status_text : "");
    var sub = [];
    if (person.user && person.user !== name) sub.push(person.user);
    var since = formatTime(person.joined_at || "");
    if (since) sub.push("since " + since);
    if (person.connections > 1) sub.push(plural(person.connections, "connection"));
    who.append(el("div", "name", name), line, el("div", "sub", sub.join(" · ")));
    item.append(avatar, who);
    return item;
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
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (response.status === 401) {
        endSession();
        return null;
      }
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.json();
    });
  }

  function endSession() {
    if (signedOut) return;
    signedOut = true;
    if (source) source.close();
    setStatus("signed-out", "Signed out");
    showBanner([
      "This page's session has ended. Run ",
      { code: "lattice-rt open" },
      " or use Open in browser in the tray menu for a new link.",
    ]);
  }

  function showStats(stats) {
    if (!stats || typeof stats !== "object") return;
    var parts = [];
    if (stats.server_version) parts.push("lattice-rt " + stats.server_version);
    if (stats.version) parts.push("protocol " + stats.version);
    if (stats.journal) parts.push("journal " + stats.journal);
    footerEl.textContent = parts.join(" · ");
  }

  function loadFeed() {
    return getJson("/realtime/feed?limit=" + FEED_LIMIT).then(function (body) {
      if (!body) return;
      var events = Array.isArray(body.events) ? body.events : [];
      events.forEach(function (event) {  // newest first, as the server sends them
        if (remember(event)) feedEl.append(eventRow(event, false));
      });
      trimFeed();
      refreshFeedMeta();
      showStats(body.stats);
    });
  }

  function connect() {
    if (signedOut) return;
    var url = "/realtime/stream";
    // Resume right after what the feed already showed; the browser then
    // sends Last-Event-ID itself on every automatic reconnect.
    if (lastSeq !== null) url += "?last_event_id=" + encodeURIComponent(String(lastSeq));
    source = new EventSource(url);
    source.onopen = function () {
      retryDelay = RETRY_MIN;
      bannerEl.hidden = true;
      setStatus("connected", "Live");
      loadPresence();
    };
    source.onmessage = function (message) {
      var event;
      try {
        event = JSON.parse(message.data);
      } catch (err) {
        return;
      }
      addLive(event);
    };
    source.addEventListener("gap", function (message) {
      var body;
      try {
        body = JSON.parse(message.data);
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
    });
    source.addEventListener("reset", function (message) {
      var body = {};
      try {
        body = JSON.parse(message.data);
      } catch (err) { /* show the notice anyway */ }
      // The server's history restarted below what we saw: old seqs mean new events now.
      seen.clear();
      lastSeq = null;
      addNotice(noticeRow("reset", "The server's history was reset",
        "now at seq " + valueText(body.server_seq)));
    });
    source.onerror = function () {
      if (signedOut) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): check the session, then retry.
        source.close();
        setStatus("offline", "Offline, retrying");
        var delay = retryDelay;
        retryDelay = Math.min(retryDelay * 2, RETRY_MAX);
        setTimeout(function () {
          // /realtime/presence needs the session: a 401 there ends it for good.
          getJson("/realtime/presence").then(function (body) {
            if (body && Array.isArray(body.people)) renderPresence(body);
            connect();
          }, connect);
        }, delay);
      } else {
        setStatus("reconnecting", "Reconnecting…");
      }
    };
  }

  loadFeed()
    .catch(function () { /* the stream still starts; it replays a short tail */ })
    .finally(function () {
      refreshFeedMeta();
      connect();
    });
})();

// How an event reads on the page: the tray app's words, line for line
// (app/lattice_rt_tray/logic/summary.py: event_title, event_summary, is_failure,
// failure_line, acted_workspace; the core must not import the app, so this is a port,
// and tests/e2e/test_activity_wording.py words a corpus of events both ways and
// compares). Nothing here trusts the event's types, as there. Pure; results are text,
// which the page puts in with textContent.
(function () {
  "use strict";

  var MAX_SUMMARY = 140;
  // payload fields that best tell what happened, most telling first
  var TELLING = [
    "title", "name", "message", "summary", "text", "description", "query", "workflow_id",
    "run_id", "agent_id", "graph_id", "plugin", "plugin_id", "skill", "skill_id", "member",
    "user_id", "email", "snapshot_id", "source_id", "template_id", "key", "id",
  ];
  // never shown as a telling field: where and when (said elsewhere), bookkeeping
  var NOT_TELLING = [
    "workspace_id", "seq", "timestamp", "received_at", "created_at", "updated_at", "ts",
    "time", "timeline_index", "contract", "type", "origin", "actor", "client_id",
  ];
  var STATUS = ["status", "state", "result"];
  var SAID = ["error", "reason", "enabled"];  // said on lines of their own, or by the status
  var MAX_PARTS = 4;
  var MAX_EXTRA = 60;
  var FAILURE_WORDS = ["fail", "failed", "failing", "failure", "error", "errored", "errors"];
  var STATUS_LABELS = { active: "Active", idle: "Idle", away: "Away", dnd: "Do not disturb" };
  var NO_WORKSPACE = "No workspace";  // lattice_rt_core/protocol/people.py
  var PERSONAL = "personal";

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function isMapping(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function get(object, key) {
    return isMapping(object) && has(object, key) ? object[key] : undefined;
  }

  function payloadOf(event) {
    var payload = get(event, "payload");
    return isMapping(payload) ? payload : {};
  }

  // Python's truth: null, false, 0, "", [] and {} are false.
  function truthy(value) {
    if (Array.isArray(value)) return value.length > 0;
    if (isMapping(value)) return Object.keys(value).length > 0;
    return Boolean(value);
  }

  // Python's str() of a JSON value: True, None, ['a', 1], {'k': 'v'}.
  function pyStr(value) {
    if (value === null || value === undefined) return "None";
    if (value === true) return "True";
    if (value === false) return "False";
    if (typeof value === "string") return value;
    if (typeof value === "number") return String(value);
    return pyRepr(value);
  }

  function pyRepr(value) {
    if (typeof value === "string") {
      var quote = value.indexOf("'") >= 0 && value.indexOf('"') < 0 ? '"' : "'";
      var body = value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
        .replace(/\t/g, "\\t");
      if (quote === "'") body = body.replace(/'/g, "\\'");
      return quote + body + quote;
    }
    if (Array.isArray(value)) return "[" + value.map(pyRepr).join(", ") + "]";
    if (isMapping(value)) {
      return "{" + Object.keys(value).map(function (key) {
        return pyRepr(key) + ": " + pyRepr(value[key]);
      }).join(", ") + "}";
    }
    return pyStr(value);
  }

  // Python's json.dumps(value, ensure_ascii=False): ", " and ": " between items.
  function pyJson(value) {
    if (Array.isArray(value)) return "[" + value.map(pyJson).join(", ") + "]";
    if (isMapping(value)) {
      return "{" + Object.keys(value).map(function (key) {
        return JSON.stringify(key) + ": " + pyJson(value[key]);
      }).join(", ") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  function isScalar(value) {
    return typeof value === "string" || typeof value === "number";
  }

  // str(value) with its runs of white space made one space
  function scalar(value) {
    return pyStr(value).split(/\s+/).filter(Boolean).join(" ");
  }

  function clip(text, limit) {
    var chars = Array.from(scalar(text));
    limit = limit || MAX_SUMMARY;
    return chars.length <= limit ? chars.join("") : chars.slice(0, limit - 1).join("") + "…";
  }

  function capital(text) {
    var chars = Array.from(text);
    return chars.length ? chars[0].toUpperCase() + chars.slice(1).join("") : "";
  }

  // "workflow_run" -> "workflow run"
  function humanize(identifier) {
    return pyStr(identifier).replace(/_/g, " ").replace(/-/g, " ").trim();
  }

  function words(value) {
    if (typeof value !== "string") return [];
    return value.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().match(/[a-z]+/g) || [];
  }

  function failureWord(value) {
    return words(value).some(function (word) { return FAILURE_WORDS.indexOf(word) >= 0; });
  }

  function isPresence(event) {
    return get(event, "area") === "presence";
  }

  function isStatusChange(event) {
    return isPresence(event) && get(event, "event_type") === "status";
  }

  function text(object, key) {
    var value = get(object, key);
    return typeof value === "string" ? value : "";
  }

  // who did it: a presence entry's display name, else the event's actor
  function actorName(event) {
    var payload = payloadOf(event);
    return text(payload, "display_name") || text(payload, "user") || text(event, "actor");
  }

  // the account that did it: the event's actor, else a presence entry's user
  function eventActor(event) {
    return text(event, "actor") || (isPresence(event) ? text(payloadOf(event), "user") : "");
  }

  function statusLine(payload) {
    var status = text(payload, "status");
    var label = has(STATUS_LABELS, status) ? STATUS_LABELS[status] : STATUS_LABELS.active;
    var line = text(payload, "status_text");
    return line ? label + " · " + line : label;
  }

  function orDefault(value, fallback) {
    return truthy(value) ? value : fallback;
  }

  // "Workflow run", "Graph: indexing paused", "Alice joined"
  function eventTitle(event) {
    var area = humanize(orDefault(get(event, "area"), "workspace"));
    var kind = humanize(orDefault(get(event, "event_type"), "event"));
    if (isPresence(event)) {
      var who = actorName(event) || "Someone";
      if (isStatusChange(event)) return who + ": " + statusLine(payloadOf(event));
      var type = pyStr(get(event, "event_type"));
      var verb = type === "join" ? "joined" : type === "leave" ? "left" : kind;
      return who + " " + verb;
    }
    if (kind.toLowerCase().startsWith(area.toLowerCase().replace(/s+$/, ""))) return capital(kind);
    return capital(area) + ": " + kind;
  }

  function errorText(payload) {
    var error = get(payload, "error");
    if (isMapping(error)) {
      var keys = ["message", "detail", "reason", "error"];
      for (var i = 0; i < keys.length; i++) {
        var value = get(error, keys[i]);
        if (isScalar(value) && value !== "") return scalar(value);
      }
      return scalar(pyJson(error));
    }
    return isScalar(error) && error !== "" ? scalar(error) : "";
  }

  function reasonText(payload) {
    var reason = get(payload, "reason");
    return isScalar(reason) && reason !== "" ? scalar(reason) : "";
  }

  // Up to two well-known telling fields, then other short scalar fields, then the status.
  function telling(payload) {
    var parts = [];
    for (var i = 0; i < TELLING.length && parts.length < 2; i++) {
      var value = get(payload, TELLING[i]);
      if (isScalar(value) && value !== "") {
        parts.push(parts.length ? humanize(TELLING[i]) + " " + scalar(value) : scalar(value));
      }
    }
    var status = null;
    STATUS.forEach(function (key) {
      var found = get(payload, key);
      if (status === null && isScalar(found) && found !== "") status = scalar(found);
    });
    var enabled = get(payload, "enabled");
    if (status === null && typeof enabled === "boolean") status = enabled ? "enabled" : "disabled";
    var room = MAX_PARTS - parts.length - (status !== null ? 1 : 0);
    Object.keys(payload).forEach(function (key) {
      var value = payload[key];
      if (room <= 0 || TELLING.indexOf(key) >= 0 || STATUS.indexOf(key) >= 0
          || NOT_TELLING.indexOf(key) >= 0 || SAID.indexOf(key) >= 0 || key.endsWith("_at")
          || !isScalar(value) || value === "" || Array.from(pyStr(value)).length > MAX_EXTRA) {
        return;
      }
      parts.push(humanize(key) + " " + scalar(value));  // an unknown field says its name
      room -= 1;
    });
    if (status !== null) parts.push(status);
    return parts;
  }

  // One line from the payload's most telling fields, then the error and the reason.
  function eventSummary(event, limit) {
    limit = limit || MAX_SUMMARY;
    var payload = get(event, "payload");
    if (isPresence(event)) {
      var reason = get(payloadOf(event), "reason");
      var ws = get(event, "workspace_id");
      var line = eventTitle(event) + (ws !== null && ws !== undefined && ws !== "" ? " " + pyStr(ws) : "");
      return clip(truthy(reason) && reason !== "left" ? line + " (" + pyStr(reason) + ")" : line, limit);
    }
    if (!isMapping(payload)) return clip(payload === null || payload === undefined ? "" : scalar(payload), limit);
    var parts = telling(payload).concat([errorText(payload), reasonText(payload)].filter(Boolean));
    if (!parts.length) {
      parts = Object.keys(payload).slice(0, 3).filter(function (key) {
        return isScalar(payload[key]);
      }).map(function (key) { return key + "=" + scalar(payload[key]); });
    }
    return clip(parts.join(" · "), limit);
  }

  // Did it go wrong? Its type, its payload's status or an error says so.
  function isFailure(event) {
    if (isPresence(event)) return false;
    if (failureWord(get(event, "event_type"))) return true;
    var payload = payloadOf(event);
    if (STATUS.some(function (key) { return failureWord(get(payload, key)); })) return true;
    var error = get(payload, "error");
    return truthy(typeof error === "string" ? error.trim() : error);
  }

  // "Nightly import — disk full": what failed and why
  function failureLine(event) {
    var payload = payloadOf(event);
    var what = null;
    ["name", "title", "workflow_id", "run_id"].forEach(function (key) {
      var value = get(payload, key);
      if (what === null && isScalar(value) && value !== "") what = scalar(value);
    });
    if (what === null) what = eventTitle(event);
    var why = errorText(payload) || reasonText(payload);
    return clip(why ? what + " — " + why : what);
  }

  // the workspace the event is about: its own, or for "personal" (or none) its payload's
  function actedWorkspace(event) {
    var ws = get(event, "workspace_id");
    if ((ws === null || ws === undefined || ws === "" || ws === PERSONAL) && !isPresence(event)) {
      var inner = get(payloadOf(event), "workspace_id");
      if (typeof inner === "string" && inner) return inner;
    }
    return ws === null || ws === undefined || ws === "" ? null : pyStr(ws);
  }

  function workspaceLabel(event) {
    var ws = actedWorkspace(event);
    return ws === null ? NO_WORKSPACE : ws;
  }

  window.LatticeWording = {
    NO_WORKSPACE: NO_WORKSPACE,
    actedWorkspace: actedWorkspace,
    eventActor: eventActor,
    eventSummary: eventSummary,
    eventTitle: eventTitle,
    failureLine: failureLine,
    humanize: humanize,
    isFailure: isFailure,
    workspaceLabel: workspaceLabel,
  };
})();

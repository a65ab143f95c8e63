// Who is here, as the activity page shows it: the server groups the entries into
// people and words them (lattice_rt_core/protocol/people.py, the rule lattice-rt
// presence and the tray app use); this builds what it says, as text. Also the page's
// two small helpers for making elements and counting things.
(function () {
  "use strict";

  var NO_WORKSPACE = "No workspace";  // lattice_rt_core/protocol/people.py

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function plural(count, singular, pluralForm) {
    return count + " " + (count === 1 ? singular : pluralForm || singular + "s");
  }

  function hueClass(text) {
    var hash = 0;
    for (var i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return "hue-" + (Math.abs(hash) % 8);
  }

  // The groups of people, as sections: one a workspace.
  function groups(people) {
    var byWorkspace = new Map();  // in the server's order: workspaces by name, the one without last
    people.forEach(function (person) {
      var key = person.workspace_id || "";
      if (!byWorkspace.has(key)) byWorkspace.set(key, { title: person.workspace || NO_WORKSPACE, people: [] });
      byWorkspace.get(key).people.push(person);
    });
    var nodes = Array.from(byWorkspace.keys()).map(function (key) {
      var found = byWorkspace.get(key);
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
    return nodes;
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
    var since = window.LatticeTime.clock(person.joined_at || "");
    if (since) sub.push("since " + since);
    if (person.connections > 1) sub.push(plural(person.connections, "connection"));
    who.append(el("div", "name", name), line, el("div", "sub", sub.join(" · ")));
    item.append(avatar, who);
    return item;
  }

  window.LatticeDom = { el: el, plural: plural };
  window.LatticePresence = { groups: groups };
})();

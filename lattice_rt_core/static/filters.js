// The feed's filter: a workspace, an area (each a select of those the feed has shown)
// and words to search for, all on the rows already on the page (the Activity window's
// filter does the same in the app). Rows say their workspace and area in data-
// attributes; a date separator is hidden with the last of its rows.
(function () {
  "use strict";

  // Put the values seen into a select (sorted, "last" at the end), keeping its choice.
  function fill(select, values, allText, last) {
    var chosen = select.value;
    var wanted = Array.from(values).sort(function (a, b) {
      if (a === last || b === last) return a === last ? 1 : -1;
      return a.localeCompare(b);
    });
    if (chosen && wanted.indexOf(chosen) < 0) wanted.push(chosen);  // it stays choosable
    var have = Array.from(select.options).slice(1).map(function (o) { return o.value; });
    if (have.join("\n") === wanted.join("\n")) return;
    var all = document.createElement("option");
    all.value = "";
    all.textContent = allText;
    var options = wanted.map(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      return option;
    });
    select.replaceChildren.apply(select, [all].concat(options));
    select.value = chosen;
  }

  function create(parts) {
    var feed = parts.feed;

    function words() {
      return parts.text.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    }

    function active() {
      return Boolean(parts.workspace.value || parts.area.value || words().length);
    }

    function matches(row, ws, area, needles) {
      if (ws && row.getAttribute("data-workspace") !== ws) return false;
      if (area && row.getAttribute("data-area") !== area) return false;
      var text = needles.length ? row.textContent.toLocaleLowerCase() : "";
      return needles.every(function (needle) { return text.indexOf(needle) >= 0; });
    }

    // Show the rows that match; returns [rows shown, rows in all].
    function apply() {
      var ws = parts.workspace.value;
      var area = parts.area.value;
      var needles = words();
      var spaces = new Set();
      var areas = new Set();
      var shown = 0;
      var total = 0;
      var separator = null;
      var separatorSeen = false;
      Array.from(feed.children).forEach(function (row) {
        if (row.classList.contains("day")) {
          if (separator) separator.hidden = !separatorSeen;
          separator = row;
          separatorSeen = false;
          return;
        }
        if (row.hasAttribute("data-workspace")) spaces.add(row.getAttribute("data-workspace"));
        if (row.hasAttribute("data-area")) areas.add(row.getAttribute("data-area"));
        var ok = matches(row, ws, area, needles);
        row.hidden = !ok;
        if (row.classList.contains("event")) {
          total += 1;
          if (ok) shown += 1;
        }
        if (ok) separatorSeen = true;
      });
      if (separator) separator.hidden = !separatorSeen;
      fill(parts.workspace, spaces, "All workspaces", parts.noWorkspace);
      fill(parts.area, areas, "All areas", null);
      parts.nomatch.hidden = !(active() && total > 0 && shown === 0);
      return [shown, total];
    }

    [parts.workspace, parts.area].forEach(function (select) {
      select.addEventListener("change", parts.changed);
    });
    parts.text.addEventListener("input", parts.changed);
    return { apply: apply, active: active };
  }

  window.LatticeFilters = { create: create };
})();

// The activity page's reader of a text/event-stream body (read with fetch: the page
// sends a header EventSource cannot), by the HTML standard's rules as EventSource
// reads it.
(function () {
  "use strict";

  // Read a stream, calling on.frame(type, data) per frame, on.id(id) and on.retry(ms).
  function read(reader, on) {
    var decoder = new TextDecoder();
    var buffer = "";
    var data = [];
    var type = "";
    var id = null;

    function line(text) {
      if (text === "") {
        if (id !== null) on.id(id);
        if (data.length) on.frame(type, data.join("\n"));
        data = [];
        type = "";
        id = null;
        return;
      }
      if (text.charAt(0) === ":") return;  // a comment: the heartbeat
      var colon = text.indexOf(":");
      var field = colon < 0 ? text : text.slice(0, colon);
      var value = colon < 0 ? "" : text.slice(colon + 1);
      if (value.charAt(0) === " ") value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") type = value;
      else if (field === "id" && value.indexOf("\0") < 0) id = value;
      else if (field === "retry" && /^[0-9]+$/.test(value)) on.retry(Number(value));
    }

    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop();
        lines.forEach(line);
        return pump();
      });
    }
    return pump();
  }

  window.LatticeSse = { read: read };
})();

// Times as the activity page says them, in the browser's locale and time zone (its
// hour cycle: 24-hour where the locale is). The words are the tray app's
// (app/lattice_rt_tray/logic/timefmt.py event_time and day_label): "just now",
// "12 min ago" within the hour, then the clock, "yesterday 14:03", a weekday this
// week, else the date. Pure: "now" is passed in.
(function () {
  "use strict";

  var DAY = 86400000;
  var clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
  var weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
  var dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  var thisYearFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric" });
  var fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

  // An ISO 8601 timestamp as a Date, or null.
  function parse(text) {
    if (typeof text !== "string" || !text) return null;
    var date = new Date(text);
    return isNaN(date.getTime()) ? null : date;
  }

  // The local calendar day, as a number of days (comparable, one apart for neighbours).
  function dayNumber(date) {
    return Math.round(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) / DAY);
  }

  function clock(date) {
    return clockFormat.format(date);
  }

  // "just now", "5 min ago", "14:03", "yesterday 14:03", "Mon 14:03", "1 Jun 2026, 14:03".
  function eventTime(text, now) {
    var date = parse(text);
    if (!date) return "";
    var seconds = (now.getTime() - date.getTime()) / 1000;
    if (seconds < 45) return "just now";  // a clock ahead of ours too
    if (seconds < 3600 - 30) return Math.max(1, Math.round(seconds / 60)) + " min ago";
    var days = dayNumber(now) - dayNumber(date);
    if (days === 0) return clock(date);
    if (days === 1) return "yesterday " + clock(date);
    if (days > 1 && days < 7) return weekdayFormat.format(date) + " " + clock(date);
    return dateFormat.format(date) + ", " + clock(date);
  }

  // The whole time, for a tooltip: "Monday, 7 December 2026 at 14:03:09 CET".
  function fullTime(text) {
    var date = parse(text);
    return date ? fullFormat.format(date) : "";
  }

  // A date separator's words: "Today", "Yesterday", "Mon 1 Jun" this year, else "1 Jun 2025".
  function dayLabel(text, now) {
    var date = parse(text);
    if (!date) return "Earlier";
    var days = dayNumber(now) - dayNumber(date);
    if (days === 0) return "Today";
    if (days === 1) return "Yesterday";
    if (date.getFullYear() === now.getFullYear()) return thisYearFormat.format(date);
    return dateFormat.format(date);
  }

  // The day a timestamp falls on, as a key (null: not a time).
  function dayKey(text) {
    var date = parse(text);
    return date ? dayNumber(date) : null;
  }

  window.LatticeTime = {
    clock: function (text) {
      var date = parse(text);
      return date ? clock(date) : "";
    },
    dayKey: dayKey,
    dayLabel: dayLabel,
    eventTime: eventTime,
    fullTime: fullTime,
  };
})();

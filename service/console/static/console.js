// The console's only script: no framework, no build. Pages work without it (plain forms);
// it adds the dashboard's refresh, the live log and the language switch on change.
"use strict";

document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("locale-select");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }

  var dash = document.getElementById("dashboard");
  if (dash) {
    var seconds = parseInt(dash.dataset.seconds || "5", 10);
    setInterval(function () {
      fetch(dash.dataset.refresh, { credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { window.location = "/login"; return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null) { dash.innerHTML = html; } })
        .catch(function () { /* the daemon restarting: the next tick tries again */ });
    }, seconds * 1000);
  }

  var table = document.getElementById("log-table");
  var follow = document.getElementById("follow");
  if (table && window.EventSource) {
    var body = table.querySelector("tbody");
    var source = null;
    var cell = function (tr, text, cls) {
      var td = document.createElement("td");
      td.textContent = text;
      if (cls) { td.className = cls; }
      tr.appendChild(td);
      return td;
    };
    var start = function () {
      source = new EventSource(table.dataset.stream);
      source.onopen = function () { table.dataset.live = "1"; };
      source.onmessage = function (msg) {
        var ev = JSON.parse(msg.data);
        var tr = document.createElement("tr");
        tr.className = "lvl-" + ev.level;
        cell(tr, ev.timestamp);
        cell(tr, ev.level);
        var td = cell(tr, ev.event);
        if (ev.cid) {
          var a = document.createElement("a");
          a.className = "cid";
          a.href = "/logs?q=" + encodeURIComponent(ev.cid);
          a.textContent = ev.cid;
          td.appendChild(document.createTextNode(" "));
          td.appendChild(a);
        }
        cell(tr, ev.rest, "rest");
        body.appendChild(tr);
        var none = document.getElementById("no-events");
        if (none) { none.remove(); }
        if (body.children.length > 2000) { body.removeChild(body.firstChild); }
        window.scrollTo(0, document.body.scrollHeight);
      };
    };
    start();
    if (follow) {
      follow.addEventListener("change", function () {
        if (follow.checked) { start(); } else if (source) {
          source.close();
          source = null;
          delete table.dataset.live;
        }
      });
    }
  }
});

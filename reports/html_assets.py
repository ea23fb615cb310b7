"""The inline style and script of report.html (reports/html.py), kept apart from the converter.

The style is readable on a laptop (text in a column at most 72rem wide, tables as wide as
they need) and on a phone (tables scroll sideways inside their own box instead of
widening the page). The script makes every table sortable by clicking a header: numbers are
compared as numbers (the leading figure of "3.12 ± 0.5", "95.8%", "1,234", "1.2x"), missing
cells ("–") stay last either way, ties keep the report's order; ``aria-sort`` says the state.
With the URL fragment ``#selftest`` it also checks itself for the browser test
(tests/test_html_browser.py): it sorts the leaderboard (or the first table) by a numeric
column both ways and reports the order, whether every image loaded and whether the page is
wider than the window, in ``pre#selftest``.
"""
from __future__ import annotations

STYLE = r"""
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--head:#f3f5f7;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8d96a0;--line:#30363d;--head:#161b22;--accent:#4493f8}}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:72rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.6rem;line-height:1.25}
h2{font-size:1.3rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2.2rem}
h3{font-size:1.1rem;margin-top:1.6rem}
p,li{overflow-wrap:break-word}
a{color:var(--accent)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;background:var(--head);padding:.05em .3em;border-radius:3px;overflow-wrap:anywhere}
blockquote{margin:1rem 0;padding:.4rem 1rem;border-left:4px solid var(--accent);background:var(--head)}
.table-wrap{overflow-x:auto;margin:1rem 0;max-width:100%}
table{border-collapse:collapse;font-size:.88rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--line);padding:.3rem .55rem;vertical-align:top;text-align:left}
thead th{background:var(--head);white-space:nowrap}
.num{text-align:right;white-space:nowrap}
th button.sort{all:unset;cursor:pointer;font-weight:600}
th button.sort::after{content:" \2195";color:var(--muted);font-size:.8em}
th[aria-sort=ascending] button.sort::after{content:" \25B2";color:var(--fg)}
th[aria-sort=descending] button.sort::after{content:" \25BC";color:var(--fg)}
th button.sort:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
img{display:block;max-width:100%;height:auto;margin:.8rem auto .2rem;background:#fff}
.missing-image{color:var(--muted);font-style:italic}
#selftest{white-space:pre-wrap}
@media (max-width:640px){body{font-size:15px}main{padding:.6rem .7rem 2rem}h1{font-size:1.3rem}table{font-size:.8rem}}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var MISSING = /^(?:[\u2013\u2014-]|n\/a)?$/i;
  var NUMBER = /^\(?([+\-\u2212]?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:e([+\-]?\d+))?/i;
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});

  function text(cell) { return cell ? cell.textContent.trim() : ""; }
  function number(t) {
    var m = NUMBER.exec(t);
    if (!m) return null;
    var v = parseFloat(m[2].replace(/,/g, "") + (m[3] ? "e" + m[3] : ""));
    return m[1] === "-" || m[1] === "\u2212" ? -v : v;
  }
  function headers(table) {
    var out = [];
    each(table.tHead.rows[0].cells, function (th) { out.push(text(th)); });
    return out;
  }
  function column(table, col) {
    var out = [];
    each(table.tBodies[0].rows, function (row) { out.push(text(row.cells[col])); });
    return out;
  }

  function sortBy(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var texts = rows.map(function (r) { return text(r.cells[col]); });
    var present = texts.filter(function (t) { return !MISSING.test(t); });
    var numeric = present.length > 0 && present.every(function (t) { return number(t) !== null; });
    var keyed = rows.map(function (r, i) {
      var t = texts[i];
      return {row: r, order: +r.getAttribute("data-order"), missing: MISSING.test(t), key: numeric ? number(t) : t};
    });
    keyed.sort(function (a, b) {
      if (a.missing !== b.missing) return a.missing ? 1 : -1;
      var c = a.missing ? 0 : numeric ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : collator.compare(a.key, b.key);
      return (dir === "descending" ? -c : c) || a.order - b.order;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    each(table.tHead.rows[0].cells, function (th, j) {
      if (j === col) th.setAttribute("aria-sort", dir); else th.removeAttribute("aria-sort");
    });
  }

  function sortable(table) {
    if (!table.tHead || !table.tBodies.length) return;
    each(table.tBodies[0].rows, function (row, i) { row.setAttribute("data-order", i); });
    each(table.tHead.rows[0].cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "sort by this column";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, col, th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
      });
    });
  }

  function selftest() {
    var tables = Array.prototype.slice.call(document.querySelectorAll("main table"));
    var table = tables.filter(function (t) { return headers(t).indexOf("mean rank") >= 0; })[0] || tables[0];
    var result = {tables: tables.length};
    if (table) {
      var names = headers(table);
      var col = names.indexOf("Elo");
      if (col < 0) {
        col = names.findIndex(function (n, j) {
          return j > 0 && column(table, j).every(function (t) { return number(t) !== null; });
        });
      }
      var th = table.tHead.rows[0].cells[col];
      var button = th.querySelector("button.sort");
      result.headers = names;
      result.column = names[col];
      result.before = column(table, col);
      button.dispatchEvent(new MouseEvent("click", {bubbles: true}));
      result.ascending = column(table, col);
      result.aria_ascending = th.getAttribute("aria-sort");
      button.dispatchEvent(new MouseEvent("click", {bubbles: true}));
      result.descending = column(table, col);
      result.aria_descending = th.getAttribute("aria-sort");
    }
    var images = Array.prototype.slice.call(document.images);
    result.images = images.length;
    result.broken = images.filter(function (img) { return !(img.complete && img.naturalWidth > 0); })
                          .map(function (img) { return img.alt; });
    // on a phone only the tables may scroll sideways, never the page
    result.page_width = document.documentElement.scrollWidth;
    result.viewport_width = window.innerWidth;
    var pre = document.getElementById("selftest");
    pre.textContent = JSON.stringify(result);
    pre.hidden = false;
  }

  each(document.querySelectorAll("main table"), sortable);
  if (location.hash === "#selftest") {
    if (document.readyState === "complete") selftest(); else window.addEventListener("load", selftest);
  }
})();
"""

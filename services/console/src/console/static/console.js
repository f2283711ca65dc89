// Sangsaeng console: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  var WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5];
  function registrationProblem(value) {
    if (/[^0-9\- ]/.test(value)) return "숫자와 '-'만 쓸 수 있습니다";
    var d = value.replace(/[^0-9]/g, "");
    if (d.length !== 10) return "숫자 10자리여야 합니다 (지금 " + d.length + "자리)";
    var total = 0;
    for (var i = 0; i < 9; i++) total += Number(d[i]) * WEIGHTS[i];
    total += Math.floor(Number(d[8]) * 5 / 10);
    var check = (10 - total % 10) % 10;
    if (check !== Number(d[9])) return "검증번호가 맞지 않습니다 (마지막 자리는 " + check + "이어야 합니다)";
    return "";
  }
  function wonShort(n) {
    if (!n || n < 10000) return n ? n.toLocaleString("ko-KR") + "원" : "";
    var eok = Math.floor(n / 1e8), man = Math.floor((n % 1e8) / 1e4), rest = n % 1e4, out = [];
    if (eok) out.push(eok.toLocaleString("ko-KR") + "억");
    if (man) {
      var s = "", units = [[1000, "천"], [100, "백"], [10, "십"]], m = man;
      units.forEach(function (u) { var q = Math.floor(m / u[0]); if (q) s += q + u[1]; m %= u[0]; });
      out.push(s + (m ? m : "") + "만");
    }
    return out.join(" ") + (rest ? " " + rest.toLocaleString("ko-KR") : "") + "원";
  }
  document.querySelectorAll("input[data-check=registration]").forEach(function (input) {
    var out = document.getElementById("err-" + input.name);
    function check() { out.textContent = input.value ? registrationProblem(input.value) : ""; }
    input.addEventListener("input", check);
    input.form.addEventListener("submit", function (e) { check(); if (out.textContent) { e.preventDefault(); input.focus(); } });
  });
  document.querySelectorAll("input[data-won]").forEach(function (input) {
    var out = input.parentNode.querySelector(".won-preview");
    function show() { if (out) out.textContent = wonShort(Number(input.value.replace(/[^0-9]/g, ""))); }
    input.addEventListener("input", show); show();
  });
  // A double tap records once: the Idempotency-Key already makes a second post harmless; this spares the wait.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () { form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; }); }, 0);
    });
  });
  // The business timeline, live: server-sent events carry the new timeline as HTML the console rendered (escaped).
  var live = document.querySelector("[data-live]"), box = document.getElementById("timeline");
  if (live && box && window.EventSource) {
    var known = {};  // the entries shown when the page was loaded; later ones are marked fresh
    box.querySelectorAll("li[data-event-id]").forEach(function (li) { known[li.getAttribute("data-event-id")] = true; });
    var source = new EventSource(live.getAttribute("data-live"));
    source.onopen = function () { live.classList.add("on"); };
    source.onerror = function () { live.classList.remove("on"); };
    source.addEventListener("timeline", function (e) {
      box.innerHTML = e.data;
      box.querySelectorAll("li[data-event-id]").forEach(function (li) { if (!known[li.getAttribute("data-event-id")]) li.classList.add("fresh"); });
    });
  }
})();

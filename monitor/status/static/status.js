// Enhancements only: the page is complete without this file.
(function () {
  "use strict";
  // A tooltip for the day bars on hover and keyboard focus (the title attribute stays
  // as the fallback; screen readers read each bar's hidden text).
  var tip = null;
  function show(bar) {
    hide();
    tip = document.createElement("div");
    tip.className = "tip";
    tip.setAttribute("role", "tooltip");
    tip.textContent = bar.getAttribute("data-tip");
    document.body.appendChild(tip);
    var box = bar.getBoundingClientRect();
    var left = window.scrollX + box.left + box.width / 2 - tip.offsetWidth / 2;
    left = Math.max(8, Math.min(left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8));
    tip.style.left = left + "px";
    tip.style.top = window.scrollY + box.top - tip.offsetHeight - 8 + "px";
  }
  function hide() {
    if (tip) { tip.remove(); tip = null; }
  }
  document.querySelectorAll(".bar[title]").forEach(function (bar) {
    bar.setAttribute("data-tip", bar.getAttribute("title"));
    bar.removeAttribute("title");
    bar.addEventListener("mouseenter", function () { show(bar); });
    bar.addEventListener("focus", function () { show(bar); });
    bar.addEventListener("mouseleave", hide);
    bar.addEventListener("blur", hide);
  });
  // Reload when the monitor has written a newer site (status.json names its time).
  var meta = document.querySelector('meta[name="generated-at"]');
  if (!meta || !window.fetch) { return; }
  var shown = meta.getAttribute("content");
  var base = document.querySelector('link[rel="stylesheet"]').href.replace(/status\.css$/, "");
  function check() {
    fetch(base + "api/v2/status.json", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.page && data.page.updated_at && data.page.updated_at !== shown) {
          window.location.reload();
        }
      })
      .catch(function () { /* the next check tries again */ });
  }
  setInterval(check, 30000);
})();

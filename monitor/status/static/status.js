// Enhancements only: every page is complete without this file.
//
// - Day bars: a tooltip on hover and keyboard focus; a component's bars are one tab stop
//   (today's bar) and the arrow keys, Home and End move between its days.
// - Live update: every 30 s, live.json (a few hundred bytes) says each changing page's
//   version. When this page's is unchanged, only the "Updated" time is set; when it
//   changed, the page is fetched and only the regions whose version changed
//   ([data-live] with a new data-v) are replaced. Never a reload: focus, scroll and a
//   screen reader's place stay where they were.
(function () {
  "use strict";
  var root = document.documentElement;

  var tip = null;
  function hide() {
    if (tip) { tip.remove(); tip = null; }
  }
  function show(bar) {
    hide();
    var text = bar.getAttribute("data-tip");
    if (!text) { return; }
    tip = document.createElement("div");
    tip.className = "tip";
    tip.setAttribute("role", "tooltip");
    tip.textContent = text;
    document.body.appendChild(tip);
    var box = bar.getBoundingClientRect();
    var left = window.scrollX + box.left + box.width / 2 - tip.offsetWidth / 2;
    left = Math.max(8, Math.min(left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8));
    tip.style.left = left + "px";
    tip.style.top = window.scrollY + box.top - tip.offsetHeight - 8 + "px";
  }
  function prepare(scope) {
    // The title is the tooltip without this script; with it, ours replaces it.
    scope.querySelectorAll(".bar[title]").forEach(function (bar) {
      bar.setAttribute("data-tip", bar.getAttribute("title"));
      bar.removeAttribute("title");
    });
  }
  function barOf(node) {
    return node && node.closest ? node.closest(".bar") : null;
  }
  function visible(node) {
    return node.getClientRects().length > 0;
  }
  prepare(document);
  document.addEventListener("mouseover", function (event) {
    var bar = barOf(event.target);
    if (bar) { show(bar); }
  });
  document.addEventListener("mouseout", function (event) {
    if (barOf(event.target)) { hide(); }
  });
  document.addEventListener("focusin", function (event) {
    var bar = barOf(event.target);
    if (bar) { show(bar); } else { hide(); }
  });
  document.addEventListener("focusout", hide);
  function moveTo(bar, next) {
    bar.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
  }
  document.addEventListener("keydown", function (event) {
    var bar = barOf(event.target);
    if (!bar || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var bars = Array.prototype.filter.call(bar.parentNode.children, visible);
    var at = bars.indexOf(bar);
    var next = {
      ArrowLeft: bars[at - 1], ArrowUp: bars[at - 1],
      ArrowRight: bars[at + 1], ArrowDown: bars[at + 1],
      Home: bars[0], End: bars[bars.length - 1]
    }[event.key];
    if (next && next !== bar) {
      event.preventDefault();
      moveTo(bar, next);
    }
  });

  // --- live update ---------------------------------------------------------------------
  var page = root.getAttribute("data-page");
  var version = root.getAttribute("data-version");
  if (!page || !window.fetch || !window.DOMParser) { return; }
  var base = root.getAttribute("data-root") || "";
  var watching = true;
  // For tests and the curious: checks started, swaps done, and no check under way.
  var api = { checks: 0, swaps: 0, idle: true, check: check };
  window.statusPage = api;

  function regionOf(node) {
    return node && node.closest ? node.closest("[data-live]") : null;
  }
  // The focused element, described so that it can be found again in the new HTML: a day
  // bar by its component and its place among the days, anything else by its id, a link by
  // where it leads, and failing those by its path from its region.
  function describe(node) {
    var region = regionOf(node);
    if (!region) { return null; }
    var bar = barOf(node);
    var owner = bar && bar.closest("[id]");
    if (bar && owner) {
      return { key: region.getAttribute("data-live"), owner: owner.id,
               day: Array.prototype.indexOf.call(bar.parentNode.children, bar) };
    }
    var path = [];
    for (var at = node; at && at !== region; at = at.parentNode) {
      path.unshift(Array.prototype.indexOf.call(at.parentNode.children, at));
    }
    return { key: region.getAttribute("data-live"), id: node.id,
             href: node.getAttribute("href"), path: path };
  }
  function find(place) {
    var region = document.querySelector('[data-live="' + place.key + '"]');
    if (!region) { return null; }
    if (place.owner) {
      var owner = document.getElementById(place.owner);
      var bars = owner && owner.querySelector(".bars");
      return bars ? bars.children[Math.min(place.day, bars.children.length - 1)] : null;
    }
    if (place.id) { return document.getElementById(place.id); }
    if (place.href) {
      var link = region.querySelector('[href="' + CSS.escape(place.href) + '"]');
      if (link) { return link; }
    }
    var node = region;
    for (var i = 0; node && i < place.path.length; i++) { node = node.children[place.path[i]]; }
    return node;
  }
  function replaceChildren(target, source) {
    var nodes = Array.prototype.map.call(source.childNodes, function (node) {
      return document.importNode(node, true);
    });
    target.replaceChildren.apply(target, nodes);
  }
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelectorAll("[data-live]");
    var shown = document.querySelectorAll("[data-live]");
    function keys(list) {
      return Array.prototype.map.call(list, function (el) { return el.getAttribute("data-live"); }).join(" ");
    }
    // Where the reader is: the focused element (as a path inside its region) and the
    // first region on screen (its top), both found again after the swap.
    var focus = describe(document.activeElement);
    var anchor = Array.prototype.find.call(shown, function (el) {
      return el.getBoundingClientRect().bottom > 0;
    });
    var anchorKey = anchor && anchor.getAttribute("data-live");
    var anchorTop = anchor && anchor.getBoundingClientRect().top;
    var replaced = {};
    if (keys(fresh) === keys(shown)) {
      fresh.forEach(function (region, n) {
        var old = shown[n];
        if (old.getAttribute("data-v") !== region.getAttribute("data-v")) {
          replaceChildren(old, region);
          old.setAttribute("data-v", region.getAttribute("data-v"));
          replaced[region.getAttribute("data-live")] = true;
        }
      });
    } else {  // regions came or went: the main content is replaced whole
      replaceChildren(document.querySelector("main"), doc.querySelector("main"));
      shown.forEach(function (el) { replaced[el.getAttribute("data-live")] = true; });
    }
    version = doc.documentElement.getAttribute("data-version");
    root.setAttribute("data-version", version);
    document.title = doc.title;
    prepare(document);
    if (anchorKey) {
      var again = document.querySelector('[data-live="' + anchorKey + '"]');
      if (again) { window.scrollBy(0, again.getBoundingClientRect().top - anchorTop); }
    }
    if (focus && replaced[focus.key]) {
      var target = find(focus);
      if (target) {
        var bar = barOf(target);
        if (bar) {
          Array.prototype.forEach.call(bar.parentNode.children, function (b) { b.removeAttribute("tabindex"); });
          bar.setAttribute("tabindex", "0");
        }
        target.focus({ preventScroll: true });
      }
    }
    api.swaps += 1;
  }
  function check() {
    api.checks += 1;
    if (!watching || !api.idle) { return Promise.resolve(); }
    api.idle = false;
    return fetch(base + "live.json", { cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (live) {
        if (!live) { return null; }
        var time = document.querySelector("[data-live-time]");
        if (time && live.updated_at && time.getAttribute("datetime") !== live.updated_at) {
          time.setAttribute("datetime", live.updated_at);
          time.textContent = live.updated_text;
        }
        var latest = live.pages ? live.pages[page] : undefined;
        if (latest === version) { return null; }
        if (latest === undefined) { watching = false; }  // it stopped changing: one last look
        return fetch(window.location.href.split("#")[0], { cache: "no-store" })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html) { swap(html); } });
      })
      .catch(function () { /* the next check tries again */ })
      .then(function () { api.idle = true; });
  }
  setInterval(check, 30000);
})();

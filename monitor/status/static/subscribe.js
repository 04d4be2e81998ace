// Enhancement only: without it each form posts and the subscription service answers
// with a page of its own. With it, the answer shows under the form, on this page.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams || !window.FormData) { return; }
  document.querySelectorAll("form[data-subscribe]").forEach(function (form) {
    // Only where the service shares the page's origin (the web server proxies it);
    // elsewhere the browser could not read the answer: the plain post is better.
    if (new URL(form.action, document.baseURI).origin !== window.location.origin) { return; }
    var answer = form.querySelector(".subscribe-answer");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        credentials: "omit",
        headers: { "Accept": "application/json" },
        body: new URLSearchParams(new FormData(form))
      })
        .then(function (r) {
          return r.json().then(function (data) { return { ok: r.ok, message: data.message }; });
        })
        .then(function (result) {
          answer.textContent = result.message;
          answer.className = "subscribe-answer" + (result.ok ? "" : " problem");
          if (result.ok) { form.reset(); }
        })
        .catch(function () {
          answer.textContent = "Your request could not be sent. Please try again in a moment.";
          answer.className = "subscribe-answer problem";
        })
        .then(function () { button.disabled = false; });
    });
  });
})();

// hubkit: the spawn progress page. Reads its URLs from the data-
// attributes of #progress and follows the hub's spawn progress events
// (JupyterHub's format) until the server is ready or has failed.
(function () {
  "use strict";

  var root = document.getElementById("progress");
  if (!root || !root.dataset.progressUrl || !window.EventSource) {
    return;
  }
  var bar = document.getElementById("progress-bar");
  var message = document.getElementById("progress-message");
  var failed = document.getElementById("progress-failed");
  var events = document.getElementById("progress-events");
  var nextURL = root.dataset.nextUrl;
  var done = false;
  var lost = false;

  function say(text) {
    message.textContent = text;
  }

  function log(text) {
    var item = document.createElement("li");
    item.textContent = text;
    events.appendChild(item);
  }

  // sameOrigin returns url resolved against the page if it stays on this
  // origin, or "" otherwise: an event never sends the browser elsewhere.
  function sameOrigin(url) {
    if (typeof url !== "string" || url === "") {
      return "";
    }
    try {
      var u = new URL(url, window.location.href);
      return u.origin === window.location.origin ? u.href : "";
    } catch (e) {
      return "";
    }
  }

  var source = new EventSource(root.dataset.progressUrl);

  source.onopen = function () {
    if (lost) {
      lost = false;
      say("Connection restored. Waiting for the server to start…");
    }
  };

  source.onmessage = function (msg) {
    var ev;
    try {
      ev = JSON.parse(msg.data);
    } catch (e) {
      return;
    }
    if (!ev || typeof ev !== "object") {
      return;
    }
    if (typeof ev.progress === "number" && isFinite(ev.progress)) {
      bar.value = Math.max(0, Math.min(100, ev.progress));
    }
    if (typeof ev.message === "string" && ev.message !== "") {
      log(ev.message);
    }
    if (ev.failed) {
      done = true;
      source.close();
      say("Spawn failed: " + (typeof ev.message === "string" ? ev.message : "unknown error"));
      failed.hidden = false;
      return;
    }
    if (ev.ready) {
      done = true;
      source.close();
      bar.value = 100;
      var target = sameOrigin(ev.url) || sameOrigin(nextURL);
      if (target) {
        say("Your server is ready. Opening it…");
        window.location.assign(target);
      } else {
        say("Your server is ready.");
      }
      return;
    }
    if (typeof ev.message === "string" && ev.message !== "") {
      say(ev.message);
    }
  };

  // EventSource reconnects by itself after an error; only say so.
  source.onerror = function () {
    if (done) {
      return;
    }
    lost = true;
    if (source.readyState === EventSource.CLOSED) {
      say("Lost connection to the hub. Reload the page to try again.");
    } else {
      say("Lost connection to the hub. Retrying…");
    }
  };
})();

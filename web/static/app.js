// lacop's only script. Pages work without it; it adds the live sign-out:
// when this session ends anywhere, every open tab clears what the portal
// keeps in the browser and goes to the login page, saying why.
(function () {
  "use strict";

  var channel = "BroadcastChannel" in window ? new BroadcastChannel("lacop-session") : null;

  // The service worker makes the portal installable; it caches only static
  // assets (see /sw.js).
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js")["catch"](function () { /* not offered: fine */ });
  }
  var signedIn = document.body.classList.contains("signed-in");
  var leaving = false;
  var source = null;

  // cleanup removes what this site keeps in the browser: storage, and the
  // caches a service worker may have filled.
  function cleanup() {
    try { window.localStorage.clear(); } catch (e) { /* storage disabled */ }
    try { window.sessionStorage.clear(); } catch (e) { /* storage disabled */ }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "signed-out" });
    }
    if (!window.caches || !window.caches.keys) {
      return Promise.resolve();
    }
    return window.caches.keys().then(function (keys) {
      return Promise.all(keys.map(function (k) { return window.caches["delete"](k); }));
    })["catch"](function () {});
  }

  // ended leaves a page whose session is over, and tells the other tabs.
  function ended(reason, tellOthers) {
    if (leaving) { return; }
    leaving = true;
    document.body.classList.add("ended");
    if (source) { source.close(); }
    if (tellOthers && channel) { channel.postMessage({ type: "session-ended", reason: reason }); }
    cleanup().then(function () {
      window.location.replace("/login?loggedOut=1&reason=" + encodeURIComponent(reason || "ended"));
    });
  }

  // check asks the server whether the session still lives.
  function check() {
    return window.fetch("/api/me", { credentials: "same-origin", cache: "no-store" }).then(function (res) {
      if (res.status === 401) { ended("ended", true); return false; }
      return true;
    })["catch"](function () { return true; });
  }

  if (channel) {
    channel.onmessage = function (e) {
      if (signedIn && e.data && e.data.type === "session-ended") { ended(e.data.reason, false); }
    };
  }

  if (!signedIn) {
    // The login page after a sign-out: the session is already ended on the
    // server, so tell every other tab of this browser, and clean up here.
    if (/[?&]loggedOut=1/.test(window.location.search)) {
      var m = /[?&]reason=([a-z_]+)/.exec(window.location.search);
      if (channel) { channel.postMessage({ type: "session-ended", reason: m ? m[1] : "logout" }); }
      cleanup();
    }
    return;
  }

  // A form on its way (Sign out above all) navigates by itself: an end it
  // causes must not start a second navigation that cancels its answer (the
  // signed-out page, which tells the apps). Its answer leads on.
  document.addEventListener("submit", function (e) {
    if (e.defaultPrevented) { return; }
    leaving = true;
    if (source) { source.close(); source = null; }
  });

  listen();

  function listen() {
    if (!("EventSource" in window)) { return; }
    source = new window.EventSource("/api/events");
    // data-live marks a page that will hear of its session's end at once.
    source.onopen = function () { document.body.setAttribute("data-live", "1"); };
    source.addEventListener("session-ended", function (e) {
      var reason = "ended";
      try { reason = JSON.parse(e.data).reason; } catch (x) { /* keep the default */ }
      ended(reason, true);
    });
    // A closed or failed stream: the server may have refused it because the
    // session is gone. Ask; the stream reconnects by itself otherwise.
    source.onerror = function () {
      document.body.removeAttribute("data-live");
      if (!leaving) { check(); }
    };
  }

  // A page brought back by the Back button from the back-forward cache must
  // not show signed-in content before the session is confirmed; it listens
  // again (a form sent from it may have stopped that).
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) { return; }
    leaving = false;
    if (!source) { listen(); }
    document.body.classList.add("checking");
    check().then(function (live) {
      if (live) { document.body.classList.remove("checking"); }
    });
  });
}());

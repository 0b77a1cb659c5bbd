// lacop's service worker. It makes the portal installable and keeps only
// the static assets (style, script, icons) for speed. It never caches a
// page or an API answer: those depend on the session, and a signed-out
// person must never see them again from a cache. The installed app opens
// on "/", which always goes to the network, so after a sign-out it shows
// the login page.
"use strict";

var CACHE = "lacop-static-v1";

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (e) {
  // Drop caches of older versions of this worker.
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches["delete"](k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (e) {
  var req = e.request;
  var url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/static/") !== 0) {
    return; // the network, untouched
  }
  // Stale-while-revalidate: answer from the cache when it can, and fetch
  // anew each time, so a new version of an asset arrives on the next load.
  e.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(req).then(function (hit) {
      var fresh = fetch(req).then(function (res) {
        if (res.ok) { cache.put(req, res.clone()); }
        return res;
      });
      if (hit) {
        e.waitUntil(fresh["catch"](function () {}));
        return hit;
      }
      return fresh;
    });
  }));
});

// The page tells the worker when the session ended; every cache goes.
self.addEventListener("message", function (e) {
  if (e.data && e.data.type === "signed-out") {
    e.waitUntil(caches.keys().then(function (keys) {
      return Promise.all(keys.map(function (k) { return caches["delete"](k); }));
    }));
  }
});

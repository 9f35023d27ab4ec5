/* The playground's service worker: once the site has loaded, a copy of every
   file it needs (manifest.json lists them) is kept, so it runs offline. A new
   build (the manifest's "build") gets a new cache and the old one is deleted. */
"use strict";
var PREFIX = "synack-playground-";

self.addEventListener("install", function (event) {
  event.waitUntil(fetch("manifest.json", {cache: "no-store"}).then(function (r) { return r.json(); })
    .then(function (manifest) {
      return caches.open(PREFIX + manifest.build).then(function (cache) {
        return cache.addAll(manifest.files.concat(["manifest.json"]));
      });
    }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(fetch("manifest.json", {cache: "no-store"}).then(function (r) { return r.json(); })
    .then(function (manifest) {
      return caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) {
          return n.indexOf(PREFIX) === 0 && n !== PREFIX + manifest.build;
        }).map(function (n) { return caches.delete(n); }));
      });
    }).catch(function () { /* offline: keep what there is */ })
    .then(function () { return self.clients.claim(); }));
});

// the network first (a rebuilt site shows at once), the copy when offline
self.addEventListener("fetch", function (event) {
  if (event.request.method !== "GET") return;
  event.respondWith(fetch(event.request).catch(function () {
    return caches.match(event.request, {ignoreSearch: true}).then(function (hit) {
      return hit || Response.error();
    });
  }));
});

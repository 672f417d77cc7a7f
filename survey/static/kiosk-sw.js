// The kiosk's service worker: keeps the kiosk's pages and assets so that the attract screen,
// the list of procedures and the first question still open when the network is down. Pages
// that may show a citizen's answers (/k/<lang>/r/…) are never cached.
var CACHE = "kiosk-v1";
var PRECACHE = ["/k/", "/static/survey.css", "/static/kiosk.css", "/static/kiosk.js",
                "/static/favicon.svg"];

// The pages link their assets by fingerprinted names (/static/survey.<hash>.css): keep the ones
// the attract screen links, besides the plain names that pages from before an upgrade ask for.
function linkedAssets() {
  return fetch("/k/", { credentials: "same-origin" }).then(function (reply) {
    return reply.ok ? reply.text() : "";
  }).then(function (html) {
    return (html.match(/\/static\/[^"'?#\s]+/g) || []).filter(function (url, i, all) {
      return all.indexOf(url) === i && PRECACHE.indexOf(url) < 0;
    });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(PRECACHE).then(linkedAssets)
      .then(function (assets) { return cache.addAll(assets); });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function cacheable(url) {
  return url.origin === self.location.origin && !url.pathname.startsWith("/api/") &&
    !/^\/k\/[a-z]{2}\/r\//.test(url.pathname) && url.pathname !== "/k/reset" &&
    (url.pathname.startsWith("/k/") || url.pathname.startsWith("/static/"));
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || !cacheable(url)) { return; }
  event.respondWith(fetch(request).then(function (reply) {
    if (reply.ok) {
      var copy = reply.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return reply;
  }).catch(function () {
    return caches.match(request).then(function (hit) {
      return hit || (request.mode === "navigate" ? caches.match("/k/") : Response.error());
    });
  }));
});

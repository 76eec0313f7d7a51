// The service worker: the app shell comes from the cache when there is no network, so the app
// opens in a basement. API calls are never cached here (the app queues writes itself).

const CACHE = "medwaste-shell-v5";
const SHELL = [
  "./",
  "index.html",
  "app.css",
  "app.js",
  "labels.js",
  "outbox.js",
  "phone.js",
  "bulk.js",
  "cues.js",
  "explain.js",
  "tripscan.js",
  "vocabulary.js",
  "scanner.js",
  "store.js",
  "track.js",
  "geo.js",
  "views/batch.js",
  "views/home.js",
  "views/queue.js",
  "views/scan.js",
  "views/trip.js",
  "manifest.webmanifest",
  "icon.svg",
  "shared/api.js",
  "shared/codes.js",
  "shared/discrepancies.js",
  "shared/format.js",
  "shared/i18n.js",
  "shared/problems.js",
  "shared/shell.js",
  "vendor/jsQR.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Network first (a fresh shell when online), the cached shell when not.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/app/")) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(async () => {
        const cache = await caches.open(CACHE);
        return (
          (await cache.match(request, { ignoreSearch: true })) ||
          (request.mode === "navigate" ? await cache.match("index.html") : undefined) ||
          new Response("offline", { status: 503, statusText: "offline" })
        );
      }),
  );
});

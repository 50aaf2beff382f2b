// The service worker: the app's own files kept on the phone, so the app starts without signal.
// Answers from /api are never stored here (they carry personal data): they go to the network as
// if there were no service worker, and the pages keep what they need in IndexedDB. A door card's
// address opened without signal is turned into the check-in page here.

const SHELL = "carepact-shell-v1";
const SHELL_FILES = [
  "/",
  "/app.css",
  "/app.js",
  "/api.js",
  "/care.js",
  "/charts.js",
  "/dom.js",
  "/evidence-bundle.js",
  "/evidence.js",
  "/fieldwork.js",
  "/forms.js",
  "/jobs.js",
  "/money.js",
  "/notifications.js",
  "/outbox.js",
  "/qr.js",
  "/roles.js",
  "/store.js",
  "/tables.js",
  "/pages/agreement.js",
  "/pages/budget.js",
  "/pages/card-print.js",
  "/pages/care-home.js",
  "/pages/checkin.js",
  "/pages/contract-coverage.js",
  "/pages/contract-list.js",
  "/pages/contract.js",
  "/pages/coverage.js",
  "/pages/finding.js",
  "/pages/findings.js",
  "/pages/home.js",
  "/pages/household-list.js",
  "/pages/household.js",
  "/pages/import.js",
  "/pages/login.js",
  "/pages/outbox.js",
  "/pages/oversight.js",
  "/pages/resident.js",
  "/pages/sampling.js",
  "/pages/staff.js",
  "/pages/statement-list.js",
  "/pages/statement.js",
  "/pages/visit-detail.js",
  "/pages/visit-list.js",
  "/pages/visit.js",
  "/pages/worker-day.js",
  "/vendor/jsQR.js",
  "/favicon.svg",
  "/manifest.webmanifest",
  "/icons/apple-touch-icon.png",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/icon-maskable-512.png",
];
const SHELL_PATHS = new Set([...SHELL_FILES, "/index.html"]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(SHELL_FILES.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("carepact-shell-") && name !== SHELL).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

// The kept copy at once (a phone on poor signal must not wait), refreshed in the background for
// the next start; the network only for what was never kept.
async function fromShell(event, key) {
  const cache = await caches.open(SHELL);
  const kept = await cache.match(key, { ignoreSearch: true });
  const refresh = fetch(event.request).then((response) => {
    if (response.ok && response.type === "basic") cache.put(key, response.clone());
    return response;
  });
  if (kept) {
    event.waitUntil(refresh.catch(() => undefined));
    return kept;
  }
  return refresh;
}

async function openCard(event, url) {
  try {
    return await fetch(event.request);
  } catch {
    const token = url.pathname.slice("/c/".length);
    const page = /^k[0-9a-z]{1,8}\.r\./.test(token) ? "residents/scan" : "checkin"; // a wristband, or a door card
    return Response.redirect(new URL(`/#/${page}?card=${token}`, self.location.origin).href, 302);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/c/")) {
    event.respondWith(openCard(event, url));
  } else if (SHELL_PATHS.has(url.pathname)) {
    // The app is one page ("/", routed by its hash) and its files. Everything else, /api above
    // all, passes by untouched and is never stored.
    event.respondWith(fromShell(event, url.pathname === "/index.html" ? "/" : url.pathname));
  }
});

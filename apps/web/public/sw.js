// The console's only service worker: a <video> cannot send the bearer token, so its requests to
// the ranged content route (/api/v1/evidence/:id/content) get the signed-in user's token added
// here, Range header and all, and the video streams from the archive without being copied whole
// into memory. Nothing is cached; no other request is touched.
let token = null;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  if (event.origin && event.origin !== self.location.origin) return;
  if (event.data && typeof event.data.token === 'string') token = event.data.token;
  if (event.data && event.data.token === null) token = null;
});

const CONTENT = /^\/api\/v1\/evidence\/[0-9a-f-]{36}\/content$/;

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !CONTENT.test(url.pathname) || !token) return;
  if (event.request.destination !== 'video' && event.request.destination !== 'audio') return;
  const headers = new Headers(event.request.headers);
  headers.set('Authorization', `Bearer ${token}`);
  event.respondWith(fetch(url.href, { headers, credentials: 'omit', cache: 'no-store' }));
});

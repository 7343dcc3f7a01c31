// The console's only service worker: a <video> cannot send the bearer token, so its requests to
// the ranged content route (/api/v1/evidence/:id/content) get the signed-in user's token added
// here, Range header and all, and the video streams from the archive without being copied whole
// into memory. Nothing is cached; no other request is touched.
//
// Each tab's token is its own, kept for that tab (its client id) only and added only to that
// tab's own requests: a tab closed without signing out (a shared computer) leaves nothing another
// tab, or the next person, could play with. A tab that signs out, or whose token the archive
// refuses, is forgotten at once.
const tokens = new Map();

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  if (event.origin && event.origin !== self.location.origin) return;
  const client = event.source && event.source.id;
  if (!client || !event.data) return;
  if (typeof event.data.token === 'string') tokens.set(client, event.data.token);
  else if (event.data.token === null) tokens.delete(client);
  // Said back once kept, so the tab's video asks only after (a message and a fetch are not ordered).
  if (event.ports[0]) event.ports[0].postMessage('kept');
  event.waitUntil(forgetClosedTabs());
});

/** Drops the tokens of tabs that are gone. */
async function forgetClosedTabs() {
  const open = new Set((await self.clients.matchAll({ includeUncontrolled: true })).map((c) => c.id));
  for (const id of tokens.keys()) if (!open.has(id)) tokens.delete(id);
}

const CONTENT = /^\/api\/v1\/evidence\/[0-9a-f-]{36}\/content$/;

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const token = tokens.get(event.clientId);
  if (url.origin !== self.location.origin || !CONTENT.test(url.pathname) || !token) return;
  if (event.request.destination !== 'video' && event.request.destination !== 'audio') return;
  const headers = new Headers(event.request.headers);
  headers.set('Authorization', `Bearer ${token}`);
  event.respondWith(
    fetch(url.href, { headers, credentials: 'omit', cache: 'no-store' }).then((answer) => {
      // Refused (revoked, expired): not added to anything again.
      if (answer.status === 401 && tokens.get(event.clientId) === token) tokens.delete(event.clientId);
      return answer;
    }),
  );
});

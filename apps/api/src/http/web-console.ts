import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The web console (apps/web, built by `npm run build` into dist/apps/web) served at `/`, next to
 * the API under /api/v1: its files as they are, and index.html for any other path that is not the
 * API's (the console's own addresses, /cases/..., reload to the same screen). Its
 * Content-Security-Policy is strict: scripts, styles, fonts and workers from this origin only, no
 * inline script; images and media also from blob: (thumbnails and previews are fetched with the
 * token and shown from memory) and data: (Leaflet's CSS); images from the operator's tile server
 * when one is configured; nothing else from any other host.
 */

/** dist/apps/web of the checkout this file belongs to, found upwards from here (sources and compiled alike). */
export function defaultWebRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist/apps/web');
}

export function consoleCsp(mapTileUrl: string | null): Record<string, string[]> {
  const tiles = mapTileUrl ? [new URL(mapTileUrl.replace(/[{}]/g, '')).origin] : [];
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:', ...tiles],
    'media-src': ["'self'", 'blob:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'"],
    'worker-src': ["'self'"],
    'manifest-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/**
 * The browser features the console's pages may use: the device's position (a documenter adds it
 * to an upload), full screen (a video) and writing to the clipboard (a token issued), from this
 * origin only; none of the others, so a script that got in could not turn on a camera or a
 * microphone, nor could a page that framed ours (frame-ancestors forbids that too).
 */
export const CONSOLE_PERMISSIONS = [
  'geolocation=(self)',
  'fullscreen=(self)',
  'clipboard-write=(self)',
  ...['camera', 'microphone', 'display-capture', 'payment', 'usb', 'serial', 'hid', 'midi', 'accelerometer', 'gyroscope', 'magnetometer', 'browsing-topics'].map((feature) => `${feature}=()`),
].join(', ');

export const isApiPath = (p: string): boolean => p === '/api' || p.startsWith('/api/');

/** The console's own addresses (apps/web/src/app.tsx routes); any other path stays a 404 problem. */
const CONSOLE_PATH = /^\/(?:|login|account|admin|log|cases(?:\/[^/.]+)*|evidence\/[^/.]+(?:\/custody)?|incidents\/[^/.]+(?:\/remnants\/new)?|remnants\/[^/.]+(?:\/edit)?)\/?$/;

/**
 * The console's handlers, or none when it was not built (an API-only deployment): then `/` stays
 * the problem+json 404 it always was.
 */
export function webConsole(root: string, mapTileUrl: string | null): RequestHandler[] {
  const index = path.join(root, 'index.html');
  if (!existsSync(index)) return [];
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: consoleCsp(mapTileUrl) },
    crossOriginEmbedderPolicy: false,
  });
  const files = express.static(root, {
    index: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders(res, file) {
      // Hashed names never change content; index.html and sw.js must be fresh on every load.
      res.setHeader('Cache-Control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const onlyConsole = (handler: RequestHandler): RequestHandler => (req, res, next) =>
    (req.method === 'GET' || req.method === 'HEAD') && !isApiPath(req.path) ? handler(req, res, next) : next();
  return [
    onlyConsole(headers),
    onlyConsole((_req, res, next) => {
      res.setHeader('Permissions-Policy', CONSOLE_PERMISSIONS);
      next();
    }),
    onlyConsole(files),
    onlyConsole((req: Request, res: Response, next: NextFunction) => {
      // A missing asset is a 404, not the page (a stale tab asking for an old bundle), as is any unknown path.
      if (!CONSOLE_PATH.test(req.path)) return next();
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index, (error) => error && next(error));
    }),
  ];
}

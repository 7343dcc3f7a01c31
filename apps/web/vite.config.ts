import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The console's bundle: everything it needs (scripts, styles, Leaflet's images, map data) is a
 * file of its own under dist/apps/web, so the strict Content-Security-Policy the API sends
 * (script-src 'self', no inline script) holds and nothing is fetched from another host.
 */
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  resolve: {
    // The pure libs the console shares with the server, from their sources.
    alias: [
      { find: /^#custodia\/(basemap|text)$/, replacement: fileURLToPath(new URL('../../libs/$1/src/index.ts', import.meta.url)) },
      { find: /^#basemap-assets\//, replacement: fileURLToPath(new URL('../../libs/basemap/assets/', import.meta.url)) },
    ],
  },
  build: {
    outDir: fileURLToPath(new URL('../../dist/apps/web', import.meta.url)),
    emptyOutDir: true,
    // No asset inlined as a data: URL into scripts; images may still be (img-src allows data:).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
});

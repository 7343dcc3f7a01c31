import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { problem, type Problem } from './problem.filter.js';

/** How long a client may take to send its request headers. */
export const HEADERS_TIMEOUT_MS = 30_000;

function rawProblem(body: Problem): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${body.status} ${body.title}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}

/**
 * What Node's HTTP parser refuses before the application sees a request (bad header bytes,
 * headers too large, a request that times out) is answered as problem+json too, and a
 * connection that stalls (no byte for `idleTimeoutMs`, headers or body) is closed: a slow
 * upload that keeps sending is never cut, a dead one does not hold a socket for ever.
 */
export function hardenHttpServer(server: Server, idleTimeoutMs: number): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  // No limit on a whole request: a 5 GiB upload over mobile data takes hours. Idleness is what ends one.
  server.requestTimeout = 0;
  server.setTimeout(idleTimeoutMs, (socket: Socket) => socket.destroy());
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const answer =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? problem(431, 'The request headers are larger than this server accepts')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? problem(408, 'The request took too long to arrive')
          : problem(400, 'The request is not valid HTTP');
    socket.end(rawProblem(answer));
  });
}

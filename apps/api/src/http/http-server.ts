import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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

/** A refusal written before the application sees the request; the connection closes after it. */
function refuse(res: ServerResponse, body: Problem): void {
  const text = JSON.stringify(body);
  res.writeHead(body.status, { 'Content-Type': 'application/problem+json', 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
  res.end(text);
}

/**
 * What Node's HTTP server refuses before the application sees a request (bad header bytes,
 * headers too large, a request that times out, an `Expect` other than 100-continue, HTTP/1.1
 * without `Host`) is answered as problem+json too, 100 Continue waits for the application, and a
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
  // RFC 9110, 10.1.1: a client that sends Expect: 100-continue waits for 100 before its body. Node
  // answers 100 at once; here it goes out when the application starts reading the body, so a
  // refusal made before (401, 403, 404, 413 on Content-Length) reaches a phone before it has
  // sent megabytes it pays for, and the connection closes after it (Node's rule when 100 was not sent).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const read = req._read;
    req._read = function continueFirst(size: number) {
      req._read = read;
      // Node also reads (drains) an unread body after the answer: no 100 then.
      if (!res.headersSent) res.writeContinue();
      return read.call(this, size);
    };
    server.emit('request', req, res);
  });
  // Node answers these itself with an empty body unless told otherwise.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
    refuse(res, problem(417, 'The only expectation this server meets is Expect: 100-continue')),
  );
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // RFC 9112, 3.2: a server answers 400 to an HTTP/1.1 request without Host.
    if (req.httpVersion === '1.1' && req.headers.host === undefined) return refuse(res, problem(400, 'An HTTP/1.1 request must carry a Host header'));
    for (const handle of handlers) handle.call(server, req, res);
  });
}

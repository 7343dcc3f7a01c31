import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A port nothing listens on: one the system gave, then closed. */
export async function closedPort(): Promise<number> {
  const server = http.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

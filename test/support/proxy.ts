import net from 'node:net';

/**
 * A loopback TCP proxy in front of `target`, as a failing mobile network is:
 * - `cutEvery` bytes: each connection is cut once that many bytes went from client to server on it;
 * - `down(afterBytes)`: the network dies for good after that many more bytes (every connection
 *   cut, new ones refused) until `up()`, on the same port.
 */
export interface LoopbackProxy {
  url: string;
  /** How many connections were cut so far. */
  cuts(): number;
  down(afterBytes: number): void;
  up(): void;
  /** Holds what clients send from now on (kept, in order, not forwarded) until `release()`. */
  hold(): void;
  release(): void;
  /** Bytes clients have sent through the proxy so far. */
  received(): number;
  close(): Promise<void>;
}

export async function loopbackProxy(target: string, options: { cutEvery?: number } = {}): Promise<LoopbackProxy> {
  const { hostname, port } = new URL(target);
  let cuts = 0;
  let budget = Infinity;
  let received = 0;
  let held: (() => void)[] | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (budget <= 0) return void client.destroy();
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let sent = 0;
    const cut = (all: boolean): void => {
      cuts++;
      for (const socket of all ? sockets : [client, upstream]) socket.destroy();
    };
    client.on('data', (data: Buffer) => {
      received += data.length;
      if (held) return void held.push(() => upstream.write(data));
      sent += data.length;
      budget -= data.length;
      if (budget <= 0) return cut(true);
      if (options.cutEvery !== undefined && sent > options.cutEvery) return cut(false);
      upstream.write(data);
    });
    upstream.pipe(client);
    const drop = () => (client.destroy(), upstream.destroy(), sockets.delete(client), sockets.delete(upstream));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cuts: () => cuts,
    down: (afterBytes) => void (budget = afterBytes),
    up: () => void (budget = Infinity),
    hold: () => void (held ??= []),
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const write of waiting) write();
    },
    received: () => received,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The clients of bench/reads.ts, in their own process so that their work does not share the
 * archive's main thread (a load generator beside the server, as autocannon or wrk would be):
 * node dist/bench/read-load.js <url> <clients> <seconds>, the bearer token (if any) in
 * READ_LOAD_TOKEN. GETs `url` with that many keep-alive clients for a 1 s warm-up and then
 * `seconds`, every answer must be 200; prints { perSecond, requests } as JSON (requests: all of them,
 * the warm-up's included).
 */
import http from 'node:http';

const [url, clients, seconds] = process.argv.slice(2) as [string, string, string];
const token = process.env.READ_LOAD_TOKEN;
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients) });
const headers = token ? { Authorization: `Bearer ${token}` } : {};

const get = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });

let requests = 0;

async function run(forSeconds: number): Promise<number> {
  let done = 0;
  const until = performance.now() + forSeconds * 1000;
  await Promise.all(
    Array.from({ length: Number(clients) }, async () => {
      while (performance.now() < until) {
        const status = await get();
        if (status !== 200) throw new Error(`${url} answered ${status}`);
        done++;
        requests++;
      }
    }),
  );
  return done / forSeconds;
}

await run(1);
const perSecond = await run(Number(seconds));
agent.destroy();
process.stdout.write(`${JSON.stringify({ perSecond, requests })}\n`);

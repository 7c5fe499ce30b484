// node_clients.js: ioredis and node-redis (from npm) against a faultline node: a pipeline of
// 200 mixed commands, a transaction, expiry; node-redis over RESP3 (HELLO 3) too.
// Usage: NODE_PATH=DIR/node_modules node node_clients.js PORT. Exit 0 when all is as Redis.
const port = Number(process.argv[2]);
const bad = [];
const want = (what, got, exp) => {
  if (JSON.stringify(got) !== JSON.stringify(exp))
    bad.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(exp)}`);
};

async function ioredis() {
  const Redis = require('ioredis');
  const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 2 });
  await r.connect();
  await r.del('io:k', 'io:c', 'io:t');
  const p = r.pipeline();
  for (let i = 0; i < 50; i++) p.set('io:k', i).get('io:k').incr('io:c').get('io:c');
  const res = await p.exec();
  for (let i = 0; i < 50; i++)
    want(`ioredis round ${i}`, res.slice(4 * i, 4 * i + 4).map((x) => x[1]),
         ['OK', String(i), i + 1, String(i + 1)]);
  const t = await r.multi().incr('io:t').incr('io:t').get('io:t').exec();
  want('ioredis multi', t.map((x) => x[1]), [1, 2, '2']);
  await r.set('io:e', 'v', 'EX', 100);
  want('ioredis ttl', await r.ttl('io:e'), 100);
  r.disconnect();
}

async function noderedis(resp) {
  const { createClient } = require('redis');
  const opts = { socket: { port, reconnectStrategy: false } };
  if (resp === 3) opts.RESP = 3;
  const c = createClient(opts);
  c.on('error', (e) => bad.push(`node-redis RESP${resp}: ${e}`));
  await c.connect();
  const k = `nr${resp}`;
  await c.del([`${k}:k`, `${k}:c`, `${k}:t`]);
  const m = c.multi(); // execAsPipeline: no MULTI, one write
  for (let i = 0; i < 50; i++)
    m.set(`${k}:k`, String(i)).get(`${k}:k`).incr(`${k}:c`).get(`${k}:c`);
  const res = await m.execAsPipeline();
  for (let i = 0; i < 50; i++)
    want(`node-redis RESP${resp} round ${i}`, res.slice(4 * i, 4 * i + 4),
         ['OK', String(i), i + 1, String(i + 1)]);
  const t = await c.multi().incr(`${k}:t`).incr(`${k}:t`).get(`${k}:t`).exec();
  want(`node-redis RESP${resp} multi`, t, [1, 2, '2']);
  await c.set(`${k}:e`, 'v', { EX: 100 });
  want(`node-redis RESP${resp} ttl`, await c.ttl(`${k}:e`), 100);
  want(`node-redis RESP${resp} missing`, await c.get(`${k}:none`), null);
  await c.quit();
}

(async () => {
  try {
    await ioredis();
    await noderedis(2);
    await noderedis(3);
  } catch (e) {
    bad.push(String(e && e.stack ? e.stack : e));
  }
  console.log('node clients:', bad.length ? 'FAILED\n  ' + bad.join('\n  ') : 'ok');
  process.exit(bad.length ? 1 : 0);
})();

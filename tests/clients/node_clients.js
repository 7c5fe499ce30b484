// node_clients.js: ioredis and node-redis (from npm) against a faultline node: a pipeline of
// 200 mixed commands, a transaction, expiry, a pipeline over lists, sets, hashes and sorted
// sets (so the clients parse RESP3 maps, sets and doubles); node-redis over RESP3 (HELLO 3)
// too.
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
  await r.del('io:l', 'io:s', 'io:h', 'io:z');
  const d = await r.pipeline().rpush('io:l', 'a', 'b', 'c').lpop('io:l').lrange('io:l', 0, -1)
    .sadd('io:s', 'x', 'y').smembers('io:s').hset('io:h', 'f', '1', 'g', '2').hgetall('io:h')
    .hincrby('io:h', 'f', 5).zadd('io:z', 1.5, 'a', 0.5, 'b').zrange('io:z', 0, -1, 'WITHSCORES')
    .zscore('io:z', 'a').zpopmin('io:z').exec();
  const dv = d.map((x) => x[1]);
  dv[4] = dv[4].sort();
  want('ioredis data types', dv, [3, 'a', ['b', 'c'], 2, ['x', 'y'], 2, { f: '1', g: '2' }, 6, 2,
                                  ['b', '0.5', 'a', '1.5'], '1.5', ['b', '0.5']]);
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
  await c.del([`${k}:l`, `${k}:s`, `${k}:h`, `${k}:z`]);
  const d = c.multi().rPush(`${k}:l`, ['a', 'b', 'c']).lPop(`${k}:l`).lRange(`${k}:l`, 0, -1)
    .sAdd(`${k}:s`, ['x', 'y']).sMembers(`${k}:s`).hSet(`${k}:h`, { f: '1', g: '2' })
    .hGetAll(`${k}:h`).hIncrBy(`${k}:h`, 'f', 5)
    .zAdd(`${k}:z`, [{ score: 1.5, value: 'a' }, { score: 0.5, value: 'b' }])
    .zRangeWithScores(`${k}:z`, 0, -1).zScore(`${k}:z`, 'a').zPopMin(`${k}:z`);
  const dv = await d.execAsPipeline();
  dv[4] = [...dv[4]].sort();
  want(`node-redis RESP${resp} data types`, dv,
       [3, 'a', ['b', 'c'], 2, ['x', 'y'], 2, { f: '1', g: '2' }, 6, 2,
        [{ value: 'b', score: 0.5 }, { value: 'a', score: 1.5 }], 1.5, { value: 'b', score: 0.5 }]);
  const dt = await c.multi().sIsMember(`${k}:s`, 'x').hGet(`${k}:h`, 'g')
    .zIncrBy(`${k}:z`, 2, 'a').exec();
  want(`node-redis RESP${resp} data types in a transaction`, dt, [1, '2', 3.5]);
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

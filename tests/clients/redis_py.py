"""redis_py.py: Debian's redis-py (python3-redis) against a faultline node: pipelines (the
default transactional one and a plain one) of 200 mixed commands, a WATCH transaction,
expiry, lists, sets, hashes and sorted sets. Usage: python3 redis_py.py PORT. Exit 0 when
every reply is what Redis answers."""
import sys

import redis

r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
bad = []

def want(what, got, exp):
    if got != exp:
        bad.append(f"{what}: got {got!r}, want {exp!r}")

r.delete("py:c", "py:k", "py:t")
p = r.pipeline(transaction=False)
for i in range(50):
    p.set("py:k", i).get("py:k").incr("py:c").get("py:c")
res = p.execute()
for i in range(50):
    want(f"round {i}", res[4 * i:4 * i + 4], [True, str(i), i + 1, str(i + 1)])
with r.pipeline() as t:  # transactional: MULTI / EXEC
    t.incr("py:t").incr("py:t").get("py:t")
    want("transaction", t.execute(), [1, 2, "2"])
with r.pipeline() as w:
    w.watch("py:t")
    v = int(w.get("py:t"))
    w.multi()
    w.set("py:t", v + 1)
    want("watch", w.execute(), [True])
r.set("py:e", "v", ex=100)
want("ttl", r.ttl("py:e"), 100)
want("getex", r.getex("py:e", persist=True), "v")
want("ttl after persist", r.ttl("py:e"), -1)
want("client name", (r.client_setname("py"), r.client_getname()), (True, "py"))
r.delete("py:l", "py:s", "py:h", "py:z")
p = r.pipeline(transaction=False)
p.rpush("py:l", "a", "b", "c").lpop("py:l").lrange("py:l", 0, -1)
p.sadd("py:s", "x", "y").smembers("py:s").sismember("py:s", "x")
p.hset("py:h", mapping={"f": "1", "g": "2"}).hgetall("py:h").hincrby("py:h", "f", 5)
p.zadd("py:z", {"a": 1.5, "b": 0.5}).zrange("py:z", 0, -1, withscores=True)
p.zscore("py:z", "a").zpopmin("py:z")
want("data types", p.execute(),
     [3, "a", ["b", "c"], 2, {"x", "y"}, True, 2, {"f": "1", "g": "2"}, 6, 2,
      [("b", 0.5), ("a", 1.5)], 1.5, [("b", 0.5)]])
with r.pipeline() as t:
    t.lpush("py:l", "z").scard("py:s").hget("py:h", "f").zincrby("py:z", 2, "a")
    want("data types in a transaction", t.execute(), [3, 2, "6", 3.5])
print("redis-py:", "FAILED " + "; ".join(bad) if bad else "ok")
sys.exit(1 if bad else 0)

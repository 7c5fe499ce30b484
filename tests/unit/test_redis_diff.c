/* test_redis_diff.c: the same command script sent to redis-server (started here) and to a
 * one-node faultline cluster, every reply compared byte for byte. The script covers strings,
 * counters, expiry (times in the past and the far future, a short PX waited out), lists,
 * sets, hashes and sorted sets (with their argument errors and WRONGTYPE), errors with
 * Redis's texts, transactions with WATCH across two connections, RESP3 after HELLO 3 (maps,
 * sets, doubles, nulls), and pipelines of mixed commands sent in one write. Commands whose
 * replies differ on purpose are listed in `intended` with the reason: for some only the
 * reply type is compared, for sets the members in any order. Skipped, with a message, when
 * redis-server is not installed (CI installs it). */
#include "server_rig.h"

#include "faultline/buf.h"

#include <strings.h>
#include <sys/time.h>

typedef struct step {
    int conn;              /* 0 or 1: two connections, for WATCH */
    int pipe;              /* steps with the same non-zero pipe number go in one write */
    int sleep_ms;          /* wait this long before the step */
    const char *words[14]; /* NULL-terminated */
} step;

/* How a reply that differs on purpose is compared: its first byte (the reply type) only;
 * not at all (only that a whole reply came back); or as a multiset of its elements (the
 * same header, the same bulk strings in any order). */
enum { TYPE_ONLY, ANY, UNORDERED };
static const struct {
    const char *cmd;
    int how;
    const char *why;
} intended[] = {
    {"HELLO", TYPE_ONLY,
     "server version (7.0.0 vs the installed Redis's) and the client id differ"},
    {"INFO", TYPE_ONLY, "faultline reports its own sections (Raft, the leader's address)"},
    {"CLIENT ID", TYPE_ONLY, "ids are per server"},
    {"SELECT 1", ANY, "faultline has one database (SELECT 0 only); Redis has 16"},
    {"SMEMBERS", UNORDERED,
     "Redis 7.0 answers in its encoding's order (integers sorted, strings "
     "in hash order); faultline in the set's own order (docs/kv.md)"},
    {"KEYS", UNORDERED, "Redis answers in hash table order, faultline sorted"},
    {"SPOP", UNORDERED, "a count covering the set answers every member, in each one's order"},
};

/* clang-format off */
static const step script[] = {
    {0, 0, 0, {"FLUSHALL"}},
    {0, 0, 0, {"PING"}}, {0, 0, 0, {"PING", "hello"}}, {0, 0, 0, {"PING", "a", "b"}},
    {0, 0, 0, {"ECHO", "x y"}},
    /* strings */
    {0, 0, 0, {"SET", "k", "v"}}, {0, 0, 0, {"GET", "k"}}, {0, 0, 0, {"GET", "nokey"}},
    {0, 0, 0, {"SET", "k", "v2", "XX", "GET"}}, {0, 0, 0, {"SET", "k", "v3", "NX"}},
    {0, 0, 0, {"SET", "n", "1", "NX", "GET"}}, {0, 0, 0, {"SET", "k", "v", "EX", "0"}},
    {0, 0, 0, {"SET", "k", "v", "EX", "x"}}, {0, 0, 0, {"SET", "k", "v", "NX", "XX"}},
    {0, 0, 0, {"SET", "k", "v", "EX", "10", "PX", "100"}},
    {0, 0, 0, {"SET", "k", "v", "KEEPTTL", "EX", "5"}}, {0, 0, 0, {"SET", "k", "v", "BOGUS"}},
    {0, 0, 0, {"SETNX", "k", "z"}}, {0, 0, 0, {"SETNX", "k2", "z"}},
    {0, 0, 0, {"SETEX", "k3", "100", "v"}}, {0, 0, 0, {"TTL", "k3"}},
    {0, 0, 0, {"PSETEX", "k4", "100000", "v"}}, {0, 0, 0, {"TTL", "k4"}},
    {0, 0, 0, {"SETEX", "k3", "0", "v"}}, {0, 0, 0, {"GETSET", "k", "new"}},
    {0, 0, 0, {"GETDEL", "k"}}, {0, 0, 0, {"GETDEL", "k"}},
    {0, 0, 0, {"MSET", "a", "1", "b", "2"}}, {0, 0, 0, {"MSET", "a"}},
    {0, 0, 0, {"MSET", "a", "1", "b"}}, {0, 0, 0, {"MGET", "a", "b", "zz"}},
    {0, 0, 0, {"MSETNX", "a", "9", "c", "3"}}, {0, 0, 0, {"MSETNX", "c", "3", "d", "4"}},
    {0, 0, 0, {"EXISTS", "a", "b", "zz", "a"}}, {0, 0, 0, {"DEL", "a", "zz"}},
    {0, 0, 0, {"UNLINK", "b"}},
    /* counters */
    {0, 0, 0, {"INCR", "cnt"}}, {0, 0, 0, {"INCRBY", "cnt", "10"}}, {0, 0, 0, {"DECR", "cnt"}},
    {0, 0, 0, {"DECRBY", "cnt", "5"}}, {0, 0, 0, {"INCR", "k2"}},
    {0, 0, 0, {"INCRBY", "cnt", "x"}}, {0, 0, 0, {"SET", "big", "9223372036854775807"}},
    {0, 0, 0, {"INCR", "big"}}, {0, 0, 0, {"APPEND", "s", "ab"}}, {0, 0, 0, {"APPEND", "s", "cd"}},
    {0, 0, 0, {"STRLEN", "s"}}, {0, 0, 0, {"STRLEN", "nokey"}}, {0, 0, 0, {"TYPE", "s"}},
    {0, 0, 0, {"TYPE", "nokey"}},
    /* expiry */
    {0, 0, 0, {"EXPIRE", "s", "100"}}, {0, 0, 0, {"TTL", "s"}},
    {0, 0, 0, {"EXPIRE", "s", "50", "GT"}}, {0, 0, 0, {"EXPIRE", "s", "500", "GT"}},
    {0, 0, 0, {"TTL", "s"}}, {0, 0, 0, {"EXPIRE", "s", "10", "NX"}}, {0, 0, 0, {"PERSIST", "s"}},
    {0, 0, 0, {"PERSIST", "s"}}, {0, 0, 0, {"TTL", "s"}}, {0, 0, 0, {"EXPIRE", "s", "10", "XX"}},
    {0, 0, 0, {"EXPIRE", "nokey", "10"}}, {0, 0, 0, {"EXPIRE", "s", "10", "NX", "XX"}},
    {0, 0, 0, {"EXPIRE", "s", "10", "GT", "LT"}}, {0, 0, 0, {"EXPIRE", "s", "10", "FOO"}},
    {0, 0, 0, {"PTTL", "nokey"}}, {0, 0, 0, {"PTTL", "cnt"}},
    {0, 0, 0, {"GETEX", "cnt", "EX", "100"}}, {0, 0, 0, {"TTL", "cnt"}},
    {0, 0, 0, {"GETEX", "cnt", "PERSIST"}}, {0, 0, 0, {"TTL", "cnt"}},
    {0, 0, 0, {"GETEX", "cnt", "EX", "1", "PX", "1"}},
    {0, 0, 0, {"SET", "past", "v", "EXAT", "1"}}, {0, 0, 0, {"GET", "past"}},
    {0, 0, 0, {"SET", "fut", "v", "EXAT", "4102444800"}}, {0, 0, 0, {"EXPIREAT", "fut", "1"}},
    {0, 0, 0, {"GET", "fut"}}, {0, 0, 0, {"SET", "neg", "v"}},
    {0, 0, 0, {"EXPIRE", "neg", "-1"}}, {0, 0, 0, {"GET", "neg"}},
    {0, 0, 0, {"SET", "short", "v", "PX", "150"}}, {0, 0, 0, {"EXISTS", "short"}},
    {0, 0, 500, {"GET", "short"}}, {0, 0, 0, {"EXISTS", "short"}},
    /* transactions */
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"SET", "t", "1"}}, {0, 0, 0, {"INCR", "t"}},
    {0, 0, 0, {"GET", "t"}}, {0, 0, 0, {"PING"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"INCR", "t"}}, {0, 0, 0, {"BADCMD"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"GET", "t"}}, {0, 0, 0, {"EXEC"}}, {0, 0, 0, {"DISCARD"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"SET", "t", "5"}}, {0, 0, 0, {"DISCARD"}},
    {0, 0, 0, {"GET", "t"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"DISCARD"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"INCR", "s"}}, {0, 0, 0, {"SET", "after", "1"}},
    {0, 0, 0, {"EXEC"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"WATCH", "w"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"SET", "w", "1"}},
    {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"WATCH", "w"}}, {1, 0, 0, {"SET", "w", "2"}}, {0, 0, 0, {"MULTI"}},
    {0, 0, 0, {"SET", "w", "3"}}, {0, 0, 0, {"EXEC"}}, {0, 0, 0, {"GET", "w"}},
    {0, 0, 0, {"WATCH", "w"}}, {0, 0, 0, {"UNWATCH"}}, {1, 0, 0, {"SET", "w", "4"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"GET", "w"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"WATCH", "x"}}, {0, 0, 0, {"EXEC"}},
    /* lists */
    {0, 0, 0, {"RPUSH", "l", "a", "b", "c"}},
    {0, 0, 0, {"LPUSH", "l", "x", "y"}},
    {0, 0, 0, {"LRANGE", "l", "0", "-1"}},
    {0, 0, 0, {"LRANGE", "l", "-2", "-1"}},
    {0, 0, 0, {"LRANGE", "l", "5", "1"}},
    {0, 0, 0, {"LRANGE", "l", "0", "x"}},
    {0, 0, 0, {"LLEN", "l"}},
    {0, 0, 0, {"LLEN", "nokey"}},
    {0, 0, 0, {"LINDEX", "l", "0"}},
    {0, 0, 0, {"LINDEX", "l", "-1"}},
    {0, 0, 0, {"LINDEX", "l", "99"}},
    {0, 0, 0, {"LINDEX", "l", "x"}},
    {0, 0, 0, {"LSET", "l", "0", "z"}},
    {0, 0, 0, {"LSET", "l", "99", "z"}},
    {0, 0, 0, {"LSET", "nokey", "0", "z"}},
    {0, 0, 0, {"LSET", "l", "x", "y"}},
    {0, 0, 0, {"LPOP", "l"}},
    {0, 0, 0, {"RPOP", "l"}},
    {0, 0, 0, {"LPOP", "l", "2"}},
    {0, 0, 0, {"RPOP", "l", "0"}},
    {0, 0, 0, {"LPOP", "l", "-1"}},
    {0, 0, 0, {"LPOP", "l", "x"}},
    {0, 0, 0, {"LPOP", "l", "1", "2"}},
    {0, 0, 0, {"LPOP", "nokey"}},
    {0, 0, 0, {"LPOP", "nokey", "2"}},
    {0, 0, 0, {"RPUSH", "l", "a", "b", "a", "c", "a"}},
    {0, 0, 0, {"LREM", "l", "2", "a"}},
    {0, 0, 0, {"LREM", "l", "-1", "a"}},
    {0, 0, 0, {"LRANGE", "l", "0", "-1"}},
    {0, 0, 0, {"LTRIM", "l", "1", "-1"}},
    {0, 0, 0, {"LRANGE", "l", "0", "-1"}},
    {0, 0, 0, {"LPUSHX", "l", "v"}},
    {0, 0, 0, {"RPUSHX", "nokey", "v"}},
    {0, 0, 0, {"LPUSH", "l"}},
    {0, 0, 0, {"TYPE", "l"}},
    {0, 0, 0, {"LTRIM", "l", "5", "1"}},
    {0, 0, 0, {"EXISTS", "l"}},
    {0, 0, 0, {"RPUSH", "l", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}},
    {0, 0, 0, {"LRANGE", "l", "2", "-3"}},
    {0, 0, 0, {"LREM", "l", "0", "5"}},
    {0, 0, 0, {"LLEN", "l"}},
        /* sets: integers (Redis answers them sorted), one member (picks are forced) */
    {0, 0, 0, {"SADD", "st", "1", "2", "3", "2"}},
    {0, 0, 0, {"SADD", "st", "4"}},
    {0, 0, 0, {"SMEMBERS", "st"}},
    {0, 0, 0, {"SISMEMBER", "st", "2"}},
    {0, 0, 0, {"SISMEMBER", "st", "9"}},
    {0, 0, 0, {"SISMEMBER", "nokey", "9"}},
    {0, 0, 0, {"SCARD", "st"}},
    {0, 0, 0, {"SCARD", "nokey"}},
    {0, 0, 0, {"SREM", "st", "2", "9"}},
    {0, 0, 0, {"SMEMBERS", "st"}},
    {0, 0, 0, {"SADD", "one", "x"}},
    {0, 0, 0, {"SPOP", "one"}},
    {0, 0, 0, {"SPOP", "one"}},
    {0, 0, 0, {"SADD", "one", "x"}},
    {0, 0, 0, {"SPOP", "one", "5"}},
    {0, 0, 0, {"SPOP", "one", "-1"}},
    {0, 0, 0, {"SPOP", "one", "1", "2"}},
    {0, 0, 0, {"SPOP", "nokey"}},
    {0, 0, 0, {"SPOP", "nokey", "3"}},
    {0, 0, 0, {"SADD", "one", "x"}},
    {0, 0, 0, {"SRANDMEMBER", "one"}},
    {0, 0, 0, {"SRANDMEMBER", "one", "3"}},
    {0, 0, 0, {"SRANDMEMBER", "one", "-3"}},
    {0, 0, 0, {"SRANDMEMBER", "one", "0"}},
    {0, 0, 0, {"SRANDMEMBER", "nokey"}},
    {0, 0, 0, {"SRANDMEMBER", "nokey", "2"}},
    {0, 0, 0, {"SRANDMEMBER", "one", "x"}},
    {0, 0, 0, {"SRANDMEMBER", "one", "1", "2"}},
    {0, 0, 0, {"SADD", "ws", "a", "b", "c"}},
    {0, 0, 0, {"SMEMBERS", "ws"}},
    {0, 0, 0, {"SPOP", "ws", "3"}},
    {0, 0, 0, {"SADD", "st"}},
    {0, 0, 0, {"TYPE", "st"}},
        /* hashes */
    {0, 0, 0, {"HSET", "h", "f1", "v1", "f2", "v2"}},
    {0, 0, 0, {"HSET", "h", "f1", "v3"}},
    {0, 0, 0, {"HGET", "h", "f1"}},
    {0, 0, 0, {"HGET", "h", "nof"}},
    {0, 0, 0, {"HGET", "nokey", "f"}},
    {0, 0, 0, {"HMGET", "h", "f1", "nof", "f2"}},
    {0, 0, 0, {"HGETALL", "h"}},
    {0, 0, 0, {"HKEYS", "h"}},
    {0, 0, 0, {"HVALS", "h"}},
    {0, 0, 0, {"HLEN", "h"}},
    {0, 0, 0, {"HLEN", "nokey"}},
    {0, 0, 0, {"HEXISTS", "h", "f2"}},
    {0, 0, 0, {"HEXISTS", "h", "nof"}},
    {0, 0, 0, {"HDEL", "h", "f2", "nof"}},
    {0, 0, 0, {"HGETALL", "h"}},
    {0, 0, 0, {"HSET", "h", "f2", "back"}},
    {0, 0, 0, {"HGETALL", "h"}},
    {0, 0, 0, {"HSETNX", "h", "f1", "x"}},
    {0, 0, 0, {"HSETNX", "h", "f9", "x"}},
    {0, 0, 0, {"HMSET", "h", "a", "1", "b", "2"}},
    {0, 0, 0, {"HMSET", "h", "a"}},
    {0, 0, 0, {"HINCRBY", "h", "a", "5"}},
    {0, 0, 0, {"HINCRBY", "h", "f1", "1"}},
    {0, 0, 0, {"HINCRBY", "h", "a", "x"}},
    {0, 0, 0, {"HINCRBY", "h", "new", "-3"}},
    {0, 0, 0, {"HSET", "h", "m", "9223372036854775807"}},
    {0, 0, 0, {"HINCRBY", "h", "m", "1"}},
    {0, 0, 0, {"HSET", "h", "n", "01"}},
    {0, 0, 0, {"HINCRBY", "h", "n", "1"}},
    {0, 0, 0, {"HSET", "h"}},
    {0, 0, 0, {"HSET", "h", "a", "b", "c"}},
    {0, 0, 0, {"HGETALL", "nokey"}},
    {0, 0, 0, {"HKEYS", "nokey"}},
    {0, 0, 0, {"HDEL", "nokey", "a"}},
    {0, 0, 0, {"TYPE", "h"}},
        /* sorted sets */
    {0, 0, 0, {"ZADD", "z", "1", "a", "2", "b", "3", "c"}},
    {0, 0, 0, {"ZADD", "z", "XX", "NX", "1", "a"}},
    {0, 0, 0, {"ZADD", "z", "GT", "LT", "1", "a"}},
    {0, 0, 0, {"ZADD", "z", "NX", "GT", "1", "a"}},
    {0, 0, 0, {"ZADD", "z", "INCR", "1", "a", "2", "b"}},
    {0, 0, 0, {"ZADD", "z", "x", "a"}},
    {0, 0, 0, {"ZADD", "z", "nan", "a"}},
    {0, 0, 0, {"ZADD", "z", "1"}},
    {0, 0, 0, {"ZADD", "z", "1", "a", "2"}},
    {0, 0, 0, {"ZADD", "z", "CH", "5", "a", "6", "d"}},
    {0, 0, 0, {"ZADD", "z", "GT", "CH", "1", "a", "9", "b"}},
    {0, 0, 0, {"ZADD", "z", "LT", "7", "c"}},
    {0, 0, 0, {"ZADD", "z", "XX", "1", "nom"}},
    {0, 0, 0, {"ZADD", "z", "INCR", "2.5", "c"}},
    {0, 0, 0, {"ZADD", "z", "NX", "INCR", "1", "c"}},
    {0, 0, 0, {"ZADD", "z", "XX", "INCR", "1", "nom"}},
    {0, 0, 0, {"ZINCRBY", "z", "1.5", "a"}},
    {0, 0, 0, {"ZINCRBY", "z", "x", "a"}},
    {0, 0, 0, {"ZINCRBY", "z", "2", "newm"}},
    {0, 0, 0, {"ZSCORE", "z", "a"}},
    {0, 0, 0, {"ZSCORE", "z", "nom"}},
    {0, 0, 0, {"ZSCORE", "nokey", "a"}},
    {0, 0, 0, {"ZRANGE", "z", "0", "-1"}},
    {0, 0, 0, {"ZRANGE", "z", "0", "-1", "WITHSCORES"}},
    {0, 0, 0, {"ZRANGE", "z", "1", "2", "REV"}},
    {0, 0, 0, {"ZRANGE", "z", "0", "x"}},
    {0, 0, 0, {"ZRANGE", "z", "(1", "6", "BYSCORE"}},
    {0, 0, 0, {"ZRANGE", "z", "6", "(1", "BYSCORE", "REV", "LIMIT", "0", "2", "WITHSCORES"}},
    {0, 0, 0, {"ZRANGE", "z", "0", "1", "LIMIT", "0", "1"}},
    {0, 0, 0, {"ZRANGE", "z", "0", "1", "FOO"}},
    {0, 0, 0, {"ZREVRANGE", "z", "0", "1", "WITHSCORES"}},
    {0, 0, 0, {"ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"}},
    {0, 0, 0, {"ZRANGEBYSCORE", "z", "(2", "+inf", "LIMIT", "1", "1"}},
    {0, 0, 0, {"ZRANGEBYSCORE", "z", "2", "2", "LIMIT", "-1", "5"}},
    {0, 0, 0, {"ZRANGEBYSCORE", "z", "x", "1"}},
    {0, 0, 0, {"ZRANGEBYSCORE", "z", "1", "x"}},
    {0, 0, 0, {"ZREVRANGEBYSCORE", "z", "+inf", "2"}},
    {0, 0, 0, {"ZREVRANGEBYSCORE", "z", "2", "+inf"}},
    {0, 0, 0, {"ZRANK", "z", "b"}},
    {0, 0, 0, {"ZREVRANK", "z", "b"}},
    {0, 0, 0, {"ZRANK", "z", "nom"}},
    {0, 0, 0, {"ZCARD", "z"}},
    {0, 0, 0, {"ZCARD", "nokey"}},
    {0, 0, 0, {"ZREM", "z", "a", "nom"}},
    {0, 0, 0, {"ZPOPMIN", "z"}},
    {0, 0, 0, {"ZPOPMAX", "z", "2"}},
    {0, 0, 0, {"ZPOPMIN", "z", "0"}},
    {0, 0, 0, {"ZPOPMIN", "z", "-1"}},
    {0, 0, 0, {"ZPOPMIN", "z", "x"}},
    {0, 0, 0, {"ZPOPMIN", "z", "1", "2"}},
    {0, 0, 0, {"ZPOPMIN", "nokey"}},
    {0, 0, 0, {"ZPOPMIN", "nokey", "3"}},
    {0, 0, 0, {"ZADD", "z", "0.1", "p", "-0", "q", "inf", "r", "1e300", "s", "0x10", "t"}},
    {0, 0, 0, {"ZRANGE", "z", "0", "-1", "WITHSCORES"}},
    {0, 0, 0, {"ZINCRBY", "z", "-inf", "r"}},
    {0, 0, 0, {"ZADD", "z", "1e400", "u"}},
    {0, 0, 0, {"ZADD", "z", " 1", "u"}},
    {0, 0, 0, {"TYPE", "z"}},
        /* every type: WRONGTYPE, and what works on any key */
    {0, 0, 0, {"SET", "str", "v"}},
    {0, 0, 0, {"LPUSH", "str", "a"}},
    {0, 0, 0, {"RPOP", "str"}},
    {0, 0, 0, {"SADD", "str", "a"}},
    {0, 0, 0, {"HSET", "str", "f", "v"}},
    {0, 0, 0, {"ZADD", "str", "1", "a"}},
    {0, 0, 0, {"GET", "z"}},
    {0, 0, 0, {"STRLEN", "h"}},
    {0, 0, 0, {"APPEND", "st", "x"}},
    {0, 0, 0, {"INCR", "z"}},
    {0, 0, 0, {"GETDEL", "h"}},
    {0, 0, 0, {"HGET", "st", "x"}},
    {0, 0, 0, {"ZSCORE", "h", "a"}},
    {0, 0, 0, {"SMEMBERS", "h"}},
    {0, 0, 0, {"LRANGE", "z", "0", "1"}},
    {0, 0, 0, {"HGETALL", "z"}},
    {0, 0, 0, {"ZRANGE", "h", "0", "1"}},
    {0, 0, 0, {"SET", "z", "x", "GET"}},
    {0, 0, 0, {"MGET", "str", "z", "h", "st", "nokey"}},
    {0, 0, 0, {"SET", "st", "v", "NX"}},
    {0, 0, 0, {"SET", "st", "v"}},
    {0, 0, 0, {"TYPE", "st"}},
    {0, 0, 0, {"EXISTS", "z", "h", "st", "str"}},
    {0, 0, 0, {"DEL", "z"}},
    {0, 0, 0, {"EXPIRE", "h", "100"}},
    {0, 0, 0, {"TTL", "h"}},
    {0, 0, 0, {"PERSIST", "h"}},
    {0, 0, 0, {"TTL", "h"}},
    {0, 0, 0, {"KEYS", "*"}},
    {0, 0, 0, {"DBSIZE"}},
        /* transactions over the data types, WATCH of a list */
    {0, 0, 0, {"MULTI"}},
    {0, 0, 0, {"LPUSH", "tl", "a", "b"}},
    {0, 0, 0, {"LRANGE", "tl", "0", "-1"}},
    {0, 0, 0, {"SADD", "ts", "x"}},
    {0, 0, 0, {"HSET", "th", "f", "v"}},
    {0, 0, 0, {"HGETALL", "th"}},
    {0, 0, 0, {"ZADD", "tz", "1", "m"}},
    {0, 0, 0, {"ZSCORE", "tz", "m"}},
    {0, 0, 0, {"LPUSH", "th", "x"}},
    {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"MULTI"}},
    {0, 0, 0, {"ZADD", "tz", "x", "m"}},
    {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"WATCH", "tl"}},
    {1, 0, 0, {"RPUSH", "tl", "c"}},
    {0, 0, 0, {"MULTI"}},
    {0, 0, 0, {"LLEN", "tl"}},
    {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"LRANGE", "tl", "0", "-1"}},
        /* a pipeline over the data types: one write */
    {0, 3, 0, {"RPUSH", "pl", "1", "2", "3"}},
    {0, 3, 0, {"LPOP", "pl"}},
    {0, 3, 0, {"SADD", "ps", "a"}},
    {0, 3, 0, {"SCARD", "ps"}},
    {0, 3, 0, {"HSET", "ph", "f", "1"}},
    {0, 3, 0, {"HINCRBY", "ph", "f", "2"}},
    {0, 3, 0, {"HGET", "ph", "f"}},
    {0, 3, 0, {"ZADD", "pz", "1", "a"}},
    {0, 3, 0, {"ZINCRBY", "pz", "1", "a"}},
    {0, 3, 0, {"ZRANGE", "pz", "0", "-1", "WITHSCORES"}},
    {0, 3, 0, {"LRANGE", "pl", "0", "-1"}},
    {0, 3, 0, {"DEL", "pl", "ps", "ph", "pz"}},
    /* errors */
    {0, 0, 0, {"FOO"}}, {0, 0, 0, {"FOO", "a", "b"}}, {0, 0, 0, {"GET"}}, {0, 0, 0, {"SET", "k"}},
    {0, 0, 0, {"SELECT", "1"}}, {0, 0, 0, {"SELECT", "0"}}, {0, 0, 0, {"SELECT", "x"}},
    {0, 0, 0, {"CLIENT", "SETNAME", "me"}}, {0, 0, 0, {"CLIENT", "GETNAME"}},
    {0, 0, 0, {"CLIENT", "SETNAME", "a b"}}, {0, 0, 0, {"CLIENT", "ID"}},
    {0, 0, 0, {"KEYS", "cn*"}}, {0, 0, 0, {"DBSIZE"}},
    /* pipelines of mixed commands: one write each */
    {0, 1, 0, {"SET", "p", "1"}}, {0, 1, 0, {"GET", "p"}}, {0, 1, 0, {"INCR", "p"}},
    {0, 1, 0, {"GET", "p"}}, {0, 1, 0, {"DEL", "p"}}, {0, 1, 0, {"GET", "p"}},
    {0, 1, 0, {"MSET", "q", "1", "r", "2"}}, {0, 1, 0, {"MGET", "q", "r", "p"}},
    {0, 1, 0, {"APPEND", "q", "x"}}, {0, 1, 0, {"GET", "q"}}, {0, 1, 0, {"EXISTS", "q", "r"}},
    {0, 2, 0, {"INCR", "c2"}}, {0, 2, 0, {"INCR", "c2"}}, {0, 2, 0, {"GET", "c2"}},
    {0, 2, 0, {"MULTI"}}, {0, 2, 0, {"INCR", "c2"}}, {0, 2, 0, {"GET", "c2"}},
    {0, 2, 0, {"EXEC"}}, {0, 2, 0, {"GET", "c2"}}, {0, 2, 0, {"SET", "c2", "x", "PX", "100000"}},
    {0, 2, 0, {"TTL", "c2"}}, {0, 2, 0, {"GET", "c2"}},
    /* RESP3 */
    {0, 0, 0, {"HELLO", "3"}}, {0, 0, 0, {"GET", "nokey"}}, {0, 0, 0, {"SET", "c2", "y", "NX"}},
    {0, 0, 0, {"MGET", "q", "nokey"}}, {0, 0, 0, {"WATCH", "w"}}, {1, 0, 0, {"SET", "w", "5"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"GET", "w"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"SADD", "r3", "1", "2"}},
    {0, 0, 0, {"SMEMBERS", "r3"}},
    {0, 0, 0, {"SPOP", "one", "1"}},
    {0, 0, 0, {"SRANDMEMBER", "one", "2"}},
    {0, 0, 0, {"HSET", "r3h", "f", "v", "g", "w"}},
    {0, 0, 0, {"HGETALL", "r3h"}},
    {0, 0, 0, {"HKEYS", "r3h"}},
    {0, 0, 0, {"HGET", "r3h", "nof"}},
    {0, 0, 0, {"HGETALL", "nokey"}},
    {0, 0, 0, {"ZADD", "r3z", "1.5", "a", "0.1", "b"}},
    {0, 0, 0, {"ZSCORE", "r3z", "b"}},
    {0, 0, 0, {"ZSCORE", "r3z", "nom"}},
    {0, 0, 0, {"ZRANGE", "r3z", "0", "-1", "WITHSCORES"}},
    {0, 0, 0, {"ZRANGEBYSCORE", "r3z", "-inf", "+inf", "WITHSCORES"}},
    {0, 0, 0, {"ZRANGE", "r3z", "0", "-1"}},
    {0, 0, 0, {"ZINCRBY", "r3z", "1", "b"}},
    {0, 0, 0, {"ZADD", "r3z", "NX", "INCR", "1", "b"}},
    {0, 0, 0, {"ZADD", "r3z", "INCR", "1", "b"}},
    {0, 0, 0, {"ZRANK", "r3z", "nom"}},
    {0, 0, 0, {"ZPOPMIN", "r3z"}},
    {0, 0, 0, {"ZPOPMIN", "r3z", "1"}},
    {0, 0, 0, {"ZPOPMAX", "nokey"}},
    {0, 0, 0, {"ZPOPMIN", "nokey", "2"}},
    {0, 0, 0, {"LPOP", "nokey"}},
    {0, 0, 0, {"LPOP", "nokey", "2"}},
    {0, 0, 0, {"SPOP", "nokey", "2"}},
    {0, 0, 0, {"SPOP", "nokey"}},
    {0, 0, 0, {"LRANGE", "nokey", "0", "-1"}},
    {0, 0, 0, {"CLIENT", "GETNAME"}}, {0, 0, 0, {"HELLO", "4"}}, {0, 0, 0, {"HELLO", "2"}},
    {0, 0, 0, {"GET", "nokey"}},
};
/* clang-format on */

/* Reads one whole RESP2/RESP3 reply, raw, appending to out. */
static bool read_reply(int fd, fl_buf *out)
{
    char line[8192];
    if (!rc_line(fd, line, sizeof(line)))
        return false;
    fl_buf_printf(out, "%s\r\n", line);
    long n = atol(line + 1);
    switch (line[0]) {
    case '$':
    case '=':
    case '!':
        if (n < 0)
            return true;
        for (long got = 0; got < n + 2;) {
            char b[4096];
            size_t want = (size_t)(n + 2 - got) < sizeof(b) ? (size_t)(n + 2 - got) : sizeof(b);
            ssize_t k = recv(fd, b, want, 0);
            if (k <= 0)
                return false;
            fl_buf_put_bytes(out, b, (size_t)k);
            got += k;
        }
        return true;
    case '*':
    case '~':
    case '>':
    case '%':
        for (long i = 0; i < (line[0] == '%' ? 2 * n : n); i++)
            if (!read_reply(fd, out))
                return false;
        return true;
    default:
        return true;
    }
}

static const char *intended_why(const step *s, int *how)
{
    char name[64];
    snprintf(name, sizeof(name), "%s%s%s", s->words[0], s->words[1] ? " " : "",
             s->words[1] ? s->words[1] : "");
    for (size_t i = 0; i < sizeof(intended) / sizeof(intended[0]); i++)
        if (!strcasecmp(s->words[0], intended[i].cmd) || !strcasecmp(name, intended[i].cmd)) {
            *how = intended[i].how;
            return intended[i].why;
        }
    return NULL;
}

static int item_cmp(const void *a, const void *b)
{
    const fl_buf *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A flat array or set of bulk strings with its items sorted (anything else unchanged). */
static void sort_items(const fl_buf *in, fl_buf *out)
{
    fl_buf_init(out);
    const char *p = (const char *)in->data, *end = p + in->len;
    const char *nl = memchr(p, '\n', in->len);
    long n = nl ? atol(p + 1) : 0;
    if (!nl || (p[0] != '*' && p[0] != '~') || n <= 0 || n > 64) {
        fl_buf_put_bytes(out, in->data, in->len);
        return;
    }
    fl_buf items[64];
    const char *q = nl + 1;
    long k = 0;
    for (; k < n && q < end && q[0] == '$'; k++) {
        long len = atol(q + 1);
        const char *data = memchr(q, '\n', (size_t)(end - q));
        if (!data || len < 0 || data + 1 + len + 2 > end)
            break;
        fl_buf_init(&items[k]);
        fl_buf_put_bytes(&items[k], q, (size_t)(data + 1 + len + 2 - q));
        q = data + 1 + len + 2;
    }
    if (k == n)
        qsort(items, (size_t)n, sizeof(items[0]), item_cmp);
    fl_buf_put_bytes(out, p, (size_t)(nl + 1 - p));
    for (long i = 0; i < k; i++) {
        fl_buf_put_bytes(out, items[i].data, items[i].len);
        fl_buf_free(&items[i]);
    }
    fl_buf_put_bytes(out, q, (size_t)(end - q));
}

static bool same_unordered(const fl_buf *a, const fl_buf *b)
{
    fl_buf x, y;
    sort_items(a, &x);
    sort_items(b, &y);
    bool same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    fl_buf_free(&x);
    fl_buf_free(&y);
    return same;
}

static void send_step(int fd, const step *s)
{
    fl_buf b;
    fl_buf_init(&b);
    size_t n = 0;
    while (s->words[n])
        n++;
    fl_buf_printf(&b, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        fl_buf_printf(&b, "$%zu\r\n%s\r\n", strlen(s->words[i]), s->words[i]);
    CHECK(rc_write(fd, b.data, b.len));
    fl_buf_free(&b);
}

/* Runs the script on two connections to port; replies[i] gets step i's raw reply. */
static void run_script(int port, fl_buf *replies)
{
    int fd[2] = {rc_connect(port), rc_connect(port)};
    CHECK(fd[0] >= 0 && fd[1] >= 0);
    size_t n = sizeof(script) / sizeof(script[0]);
    for (size_t i = 0; i < n;) {
        size_t end = i + 1;
        while (script[i].pipe && end < n && script[end].pipe == script[i].pipe)
            end++;
        if (script[i].sleep_ms)
            rig_sleep_ms(script[i].sleep_ms);
        for (size_t k = i; k < end; k++)
            send_step(fd[script[k].conn], &script[k]);
        for (size_t k = i; k < end; k++) {
            fl_buf_init(&replies[k]);
            CHECK(read_reply(fd[script[k].conn], &replies[k]));
        }
        i = end;
    }
    close(fd[0]);
    close(fd[1]);
}

static pid_t start_redis(int port, const char *dir)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool have_redis_server(void)
{
    return system("command -v redis-server >/dev/null 2>&1") == 0;
}

static void show(const char *who, const fl_buf *b)
{
    fprintf(stderr, "    %s: ", who);
    for (size_t i = 0; i < b->len && i < 300; i++) {
        uint8_t c = b->data[i];
        if (c == '\r')
            fprintf(stderr, "\\r");
        else if (c == '\n')
            fprintf(stderr, "\\n");
        else
            fputc(c >= 32 && c < 127 ? c : '?', stderr);
    }
    fputc('\n', stderr);
}

TEST(redis_diff_replies_match_byte_for_byte)
{
    SKIP_UNLESS(have_redis_server(),
                "redis-server is not installed (apt-get install redis-server)");
    static rig r;
    rig_init(&r, 1);
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    int rport = r.client_port[1] + 5;
    pid_t rpid = start_redis(rport, r.dir);
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++, rig_sleep_ms(50))
        fd = rc_connect(rport);
    CHECK(fd >= 0);
    close(fd);
    size_t n = sizeof(script) / sizeof(script[0]);
    static fl_buf want[sizeof(script) / sizeof(script[0])], got[sizeof(script) / sizeof(script[0])];
    run_script(rport, want);
    run_script(r.client_port[1], got);
    kill(rpid, SIGTERM);
    waitpid(rpid, NULL, 0);
    int differ = 0, intended_n = 0;
    for (size_t i = 0; i < n; i++) {
        int how = TYPE_ONLY;
        const char *why = intended_why(&script[i], &how);
        bool same = want[i].len == got[i].len && !memcmp(want[i].data, got[i].data, got[i].len);
        if (why && !same) {
            intended_n++;
            if (how == UNORDERED)
                same = same_unordered(&want[i], &got[i]);
            else
                same =
                    want[i].len && got[i].len && (how == ANY || want[i].data[0] == got[i].data[0]);
        }
        if (!same) {
            differ++;
            fprintf(stderr, "  step %zu: %s %s %s%s\n", i, script[i].words[0],
                    script[i].words[1] ? script[i].words[1] : "",
                    script[i].words[2] ? script[i].words[2] : "", why ? " (intended)" : "");
            show("redis    ", &want[i]);
            show("faultline", &got[i]);
        }
        fl_buf_free(&want[i]);
        fl_buf_free(&got[i]);
    }
    printf("%zu commands compared, %d with an intended difference (docs: `intended`)\n", n,
           intended_n);
    CHECK_EQ(differ, 0);
    CHECK(rig_stop(&r));
}

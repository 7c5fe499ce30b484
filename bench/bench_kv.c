/* bench_kv.c: throughput of the kv state machine fed by the workload generator: encode +
 * apply per op, then snapshot, restore and digest times. Usage: bench_kv [ops] [preset] [keys]
 * where preset is "kv" (default), "register", or "types" (lists, sets, hashes and sorted sets:
 * keys of each type in turn, small collections up to about 100 elements, a mix of writes and
 * reads per type, generated here) and keys overrides the preset's key count (types: 1000).
 *
 *   bench_kv KEYS memory [VALUE_SIZE]
 *
 * sets KEYS distinct keys named as `faultline bench` names them ("r000000-k<i>", 9 to 16
 * bytes) to VALUE_SIZE-byte values (default 200), from 32 clients (their sessions), and says
 * what the kv takes per key: its own count of the bytes it asked of malloc (fl_kv_memory),
 * and what malloc holds for it (glibc's mallinfo2: headers and rounding included), each
 * beyond the key and value bytes. Reads the clock: a benchmark, not a core. */
#include "faultline/kv.h"
#include "faultline/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

/* A command of the "types" preset: key i % 4 picks the type, the rng the command. */
static void types_cmd(fl_rng *rng, uint64_t keys, fl_kv_cmd *c, fl_buf *args, char *key,
                      char *member)
{
    uint64_t k = fl_rng_below(rng, keys), m = fl_rng_below(rng, 100), r = fl_rng_below(rng, 10);
    int kn = snprintf(key, 24, "t%llu", (unsigned long long)k);
    int mn = snprintf(member, 24, "m%llu", (unsigned long long)m);
    memset(c, 0, sizeof(*c));
    c->key = (const uint8_t *)key;
    c->key_len = (size_t)kn;
    c->value = (const uint8_t *)member;
    c->value_len = (size_t)mn;
    fl_buf_reset(args);
    switch (k % 4) {
    case 0: /* list: push 4, pop 3, LRANGE 0 9 3 */
        c->op = r < 4 ? FL_KV_PUSH : r < 7 ? FL_KV_POP : FL_KV_LRANGE;
        c->flags = r % 2 && c->op != FL_KV_LRANGE ? FL_KV_F_LEFT : 0;
        c->num2 = 9;
        fl_kv_args_add(args, member, (size_t)mn);
        break;
    case 1: /* set: SADD 4, SREM 2, SISMEMBER 3, SPOP 1 */
        c->op = r < 4 ? FL_KV_SADD : r < 6 ? FL_KV_SREM : r < 9 ? FL_KV_SISMEMBER : FL_KV_SPOP;
        fl_kv_args_add(args, member, (size_t)mn);
        break;
    case 2: /* hash: HSET 4, HMGET 4, HINCRBY 2 (field i<m>) */
        c->op = r < 4 ? FL_KV_HSET : r < 8 ? FL_KV_HMGET : FL_KV_HINCRBY;
        if (c->op == FL_KV_HINCRBY)
            member[0] = 'i';
        c->num = 1;
        fl_kv_args_add(args, member, (size_t)mn);
        if (c->op == FL_KV_HSET)
            fl_kv_args_add(args, "value", 5);
        break;
    default: /* zset: ZADD 4, ZRANGE 0 9 WITHSCORES 3, ZRANK 2, ZREM 1 */
        c->op = r < 4 ? FL_KV_ZADD : r < 7 ? FL_KV_ZRANGE : r < 9 ? FL_KV_ZRANK : FL_KV_ZREM;
        c->flags = c->op == FL_KV_ZRANGE ? FL_KV_F_SCORES : 0;
        c->num2 = 9;
        if (c->op == FL_KV_ZADD)
            fl_kv_args_add_score(args, (double)fl_rng_below(rng, 1000) / 8);
        fl_kv_args_add(args, member, (size_t)mn);
    }
    c->argc = (uint32_t)(c->op == FL_KV_ZADD || c->op == FL_KV_HSET ? 2 : 1);
    c->args = args->data;
    c->args_len = args->len;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Bytes malloc has handed out and not had back (0 where unknown). */
static size_t malloc_in_use(void)
{
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static void per_key(const char *what, size_t bytes, size_t keys)
{
    printf("  %-12s %10zu bytes  %7.1f per key\n", what, bytes, (double)bytes / (double)keys);
}

/* The "memory" preset: n keys of vsize-byte values, then the kv's footprint per key. */
static int memory_main(uint64_t n, size_t vsize)
{
    fl_kv kv;
    if (n == 0 || fl_kv_init(&kv, NULL))
        return 1;
    uint8_t *value = malloc(vsize ? vsize : 1);
    fl_buf entry;
    fl_buf_init(&entry);
    if (!value)
        return 1;
    memset(value, 'v', vsize);
    size_t before = malloc_in_use();
    double t0 = now_s();
    for (uint64_t i = 1; i <= n; i++) {
        char key[32];
        int kn = snprintf(key, sizeof(key), "r000000-k%llu", (unsigned long long)(i - 1));
        fl_kv_cmd c = {.op = FL_KV_SET, .key = (const uint8_t *)key, .key_len = (size_t)kn};
        c.value = value;
        c.value_len = vsize;
        c.client_id = 1 + (i - 1) % 32;
        c.seq = 1 + (i - 1) / 32;
        c.time_ns = i * 1000;
        fl_kv_result res;
        fl_buf_reset(&entry);
        if (fl_kv_cmd_encode(&c, &entry) || fl_kv_apply(&kv, i, entry.data, entry.len, &res) ||
            res.status != FL_KV_OK)
            return 1;
    }
    double t1 = now_s();
    fl_buf_free(&entry); /* a bench buffer, not the kv's */
    size_t held = malloc_in_use() - before;
    fl_kv_memory_use m;
    fl_kv_memory(&kv, &m);
    size_t keys = fl_kv_key_count(&kv), data = fl_kv_data_bytes(&kv);
    printf("preset memory: %zu keys, %zu-byte values, %.0f sets/s\n", keys, vsize,
           (double)n / (t1 - t0));
    per_key("keys+values", data, keys);
    per_key("entries", m.entries, keys);
    per_key("values", m.values, keys);
    per_key("buckets", m.buckets, keys);
    per_key("sessions", m.sessions + m.expiry + m.collections, keys);
    per_key("kv total", m.total, keys);
    printf("  %-12s %10zu blocks   %7.2f per key\n", "allocations", m.allocations,
           (double)m.allocations / (double)keys);
    if (held) {
        per_key("malloc held", held, keys);
        per_key("malloc's own", held - m.total, keys);
        printf("overhead beyond keys+values: %.1f bytes per key (%.1f in the kv's structures, "
               "%.1f malloc's)\n",
               (double)(held - data) / (double)keys, (double)(m.total - data) / (double)keys,
               (double)(held - m.total) / (double)keys);
    } else {
        printf("overhead beyond keys+values: %.1f bytes per key in the kv's structures (malloc's "
               "own: unknown here)\n",
               (double)(m.total - data) / (double)keys);
    }
    free(value);
    fl_kv_close(&kv);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t ops = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (argc > 2 && strcmp(argv[2], "memory") == 0)
        return memory_main(ops, argc > 3 ? strtoull(argv[3], NULL, 10) : 200);
    bool reg = argc > 2 && strcmp(argv[2], "register") == 0;
    bool types = argc > 2 && strcmp(argv[2], "types") == 0;
    fl_workload_config wc;
    if (reg)
        fl_workload_config_register(&wc);
    else
        fl_workload_config_kv(&wc);
    if (argc > 3)
        wc.key_count = strtoull(argv[3], NULL, 10);
    fl_workload w;
    fl_kv kv, copy;
    if (fl_workload_init(&w, &wc) || fl_kv_init(&kv, NULL) || fl_kv_init(&copy, NULL))
        return 1;
    fl_rng rng;
    fl_rng_seed(&rng, 42);
    fl_buf entry, snap, targs;
    fl_buf_init(&entry);
    fl_buf_init(&snap);
    fl_buf_init(&targs);
    uint64_t type_keys = argc > 3 ? wc.key_count : 1000;
    char key[24], member[24];
    uint64_t status[FL_KV_STATUS_COUNT] = {0};
    double t0 = now_s();
    for (uint64_t i = 1; i <= ops; i++) {
        fl_workload_op op;
        fl_kv_cmd cmd;
        fl_kv_result res;
        if (types) {
            types_cmd(&rng, type_keys, &cmd, &targs, key, member);
        } else {
            fl_workload_next(&w, &rng, &op);
            fl_workload_to_cmd(&op, &cmd);
        }
        cmd.client_id = 1 + (i - 1) % 64; /* 64 clients, seq 1, 2, ... each */
        cmd.seq = 1 + (i - 1) / 64;
        cmd.time_ns = i * 1000;
        fl_buf_reset(&entry);
        if (fl_kv_cmd_encode(&cmd, &entry) || fl_kv_apply(&kv, i, entry.data, entry.len, &res))
            return 1;
        status[res.status]++;
    }
    double t1 = now_s();
    if (fl_kv_snapshot(&kv, &snap))
        return 1;
    double t2 = now_s();
    if (fl_kv_restore(&copy, snap.data, snap.len))
        return 1;
    double t3 = now_s();
    uint64_t d = fl_kv_digest(&copy);
    double t4 = now_s();
    printf("preset %s, %llu ops: %.0f ops/s (generate + encode + apply)\n",
           types ? "types"
           : reg ? "register"
                 : "kv",
           (unsigned long long)ops, (double)ops / (t1 - t0));
    for (int s = 0; s < FL_KV_STATUS_COUNT; s++)
        if (status[s])
            printf("  %-16s %llu\n", fl_kv_status_name((fl_kv_status)s),
                   (unsigned long long)status[s]);
    printf("state: %zu keys, %zu bytes of keys+values, %zu sessions\n", fl_kv_key_count(&kv),
           fl_kv_data_bytes(&kv), fl_kv_session_count(&kv));
    printf("snapshot %zu bytes in %.2f ms, restore %.2f ms, digest %.3f ms, digests %s\n", snap.len,
           (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3,
           d == fl_kv_digest(&kv) ? "equal" : "DIFFER");
    fl_buf_free(&entry);
    fl_buf_free(&snap);
    fl_buf_free(&targs);
    fl_kv_close(&kv);
    fl_kv_close(&copy);
    fl_workload_close(&w);
    return 0;
}

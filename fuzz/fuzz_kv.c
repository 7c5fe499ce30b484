/* fuzz_kv.c: libFuzzer target for kv/. The input is used three ways:
 *  1. split into log entries (u16 length prefixes) applied in order, then snapshotted and
 *     restored (the restore must reach the same digest);
 *  2. read as a program of commands built directly (so every op, lists, sets, hashes and
 *     sorted sets included, is reached without the fuzzer having to learn the encoding):
 *     per command an op byte, a key byte, a flags byte, two small numbers, a time step and
 *     up to 7 arguments; applied to two kvs with different hash seeds, which must give the
 *     same answers, digests and snapshots, with fl_kv_invariants holding after every one;
 *  3. fed whole to the command, result and snapshot decoders.
 * Nothing may crash, leak, or break an invariant. */
#include "faultline/assert.h"
#include "faultline/kv.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply_all(fl_kv *kv, const uint8_t *data, size_t size)
{
    fl_index index = 0;
    fl_kv_result res;
    while (size >= 2) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        int rc = fl_kv_apply(kv, ++index, data, n, &res);
        FL_ASSERT(rc == 0);
        data += n;
        size -= n;
    }
}

static void check_snapshot_roundtrip(const fl_kv *kv, const fl_kv_config *c)
{
    fl_kv copy;
    FL_ASSERT(fl_kv_init(&copy, c) == 0);
    fl_buf snap;
    fl_buf_init(&snap);
    FL_ASSERT(fl_kv_snapshot(kv, &snap) == 0);
    FL_ASSERT(fl_kv_restore(&copy, snap.data, snap.len) == 0);
    FL_ASSERT(fl_kv_invariants(&copy));
    FL_ASSERT(fl_kv_digest(&copy) == fl_kv_digest(kv));
    fl_buf_free(&snap);
    fl_kv_close(&copy);
}

/* Reads one command of the program at *p (false at the end). Strings point into data. */
static bool next_cmd(const uint8_t **p, const uint8_t *end, fl_kv_cmd *c, fl_buf *args,
                     fl_time_ns *now)
{
    static const char *const words[] = {"0", "1", "-1", "2.5", "a", "b", "", "inf"};
    if (end - *p < 6)
        return false;
    const uint8_t *q = *p;
    memset(c, 0, sizeof(*c));
    c->op = (fl_kv_op)(q[0] % FL_KV_OP_COUNT);
    c->key = (const uint8_t *)"0123" + (q[1] & 3); /* a few keys, of mixed types */
    c->key_len = 1;
    c->flags = q[2];
    c->num = (int8_t)q[3];
    c->num2 = (int8_t)q[4];
    *now += (fl_time_ns)(q[5] & 3) * FL_NS_PER_S;
    c->time_ns = *now;
    if (c->op == FL_KV_EXPIRE || c->op == FL_KV_SET || c->op == FL_KV_GETEX)
        c->num *= (int64_t)FL_NS_PER_S;
    size_t argc = q[5] >> 5;
    *p += 6;
    fl_buf_reset(args);
    for (size_t i = 0; i < argc && *p < end; i++, (*p)++) {
        uint8_t w = **p;
        if (w & 0x80) /* a score */
            fl_kv_args_add_score(args, (double)(int8_t)(w << 1) / 2);
        else
            fl_kv_args_add(args, words[w & 7], strlen(words[w & 7]));
        c->argc++;
    }
    c->value = (const uint8_t *)words[q[2] & 7];
    c->value_len = strlen(words[q[2] & 7]);
    c->args = args->data;
    c->args_len = args->len;
    return true;
}

static void program(const uint8_t *data, size_t size)
{
    fl_kv_config c1, c2;
    fl_kv_config_default(&c1);
    c1.elements_max = 64;
    c1.result_size_max = 512;
    c2 = c1;
    c2.hash_seed = c1.hash_seed ^ 0x5a5a;
    fl_kv a, b;
    FL_ASSERT(fl_kv_init(&a, &c1) == 0);
    FL_ASSERT(fl_kv_init(&b, &c2) == 0);
    fl_buf args, entry, ra;
    fl_buf_init(&args);
    fl_buf_init(&entry);
    fl_buf_init(&ra);
    const uint8_t *p = data, *end = data + size;
    fl_time_ns now = 1;
    fl_index index = 0;
    fl_kv_cmd c;
    fl_kv_result res;
    while (next_cmd(&p, end, &c, &args, &now)) {
        fl_buf_reset(&entry);
        if (fl_kv_cmd_encode(&c, &entry))
            continue; /* flags the op does not take */
        index++;
        FL_ASSERT(fl_kv_apply(&a, index, entry.data, entry.len, &res) == 0);
        fl_buf_reset(&ra);
        FL_ASSERT(fl_kv_result_encode(&res, &ra) == 0);
        FL_ASSERT(fl_kv_apply(&b, index, entry.data, entry.len, &res) == 0);
        fl_buf_reset(&entry);
        FL_ASSERT(fl_kv_result_encode(&res, &entry) == 0);
        FL_ASSERT(entry.len == ra.len && memcmp(entry.data, ra.data, ra.len) == 0);
        FL_ASSERT(fl_kv_invariants(&a) && fl_kv_invariants(&b));
    }
    FL_ASSERT(fl_kv_digest(&a) == fl_kv_digest(&b));
    check_snapshot_roundtrip(&a, &c1);
    fl_buf_free(&args);
    fl_buf_free(&entry);
    fl_buf_free(&ra);
    fl_kv_close(&a);
    fl_kv_close(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_kv_cmd cmd;
    fl_kv_result res;
    (void)fl_kv_cmd_decode(data, size, &cmd);
    (void)fl_kv_result_decode(data, size, &res);
    fl_kv_config c;
    fl_kv_config_default(&c);
    c.sessions_max = 4;
    c.session_idle_ns = 1000;
    fl_kv kv, copy;
    FL_ASSERT(fl_kv_init(&kv, &c) == 0);
    FL_ASSERT(fl_kv_init(&copy, &c) == 0);
    (void)fl_kv_restore(&copy, data, size);
    FL_ASSERT(fl_kv_invariants(&copy));
    apply_all(&kv, data, size);
    FL_ASSERT(fl_kv_invariants(&kv));
    check_snapshot_roundtrip(&kv, &c);
    program(data, size);
    fl_kv_close(&kv);
    fl_kv_close(&copy);
    return 0;
}

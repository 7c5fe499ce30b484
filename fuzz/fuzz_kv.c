/* fuzz_kv.c: libFuzzer target for kv/: the input is split into log entries (u16 length
 * prefixes) applied in order, then snapshotted and restored; the input is also fed whole to
 * the command, result and snapshot decoders. Nothing may crash, leak or break an invariant,
 * and a snapshot must restore to the same digest. */
#include "faultline/assert.h"
#include "faultline/kv.h"

#include <stdlib.h>

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
    fl_buf snap;
    fl_buf_init(&snap);
    FL_ASSERT(fl_kv_snapshot(&kv, &snap) == 0);
    FL_ASSERT(fl_kv_restore(&copy, snap.data, snap.len) == 0);
    FL_ASSERT(fl_kv_digest(&copy) == fl_kv_digest(&kv));
    fl_buf_free(&snap);
    fl_kv_close(&kv);
    fl_kv_close(&copy);
    return 0;
}

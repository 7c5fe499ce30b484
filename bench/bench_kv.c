/* bench_kv.c: throughput of the kv state machine fed by the workload generator: encode +
 * apply per op, then snapshot, restore and digest times. Usage: bench_kv [ops] [preset] [keys]
 * where preset is "kv" (default) or "register" and keys overrides the preset's key count. Reads the
 * clock: a benchmark, not a core. */
#include "faultline/kv.h"
#include "faultline/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint64_t ops = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    bool reg = argc > 2 && strcmp(argv[2], "register") == 0;
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
    fl_buf entry, snap;
    fl_buf_init(&entry);
    fl_buf_init(&snap);
    uint64_t status[FL_KV_STATUS_COUNT] = {0};
    double t0 = now_s();
    for (uint64_t i = 1; i <= ops; i++) {
        fl_workload_op op;
        fl_kv_cmd cmd;
        fl_kv_result res;
        fl_workload_next(&w, &rng, &op);
        fl_workload_to_cmd(&op, &cmd);
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
    printf("preset %s, %llu ops: %.0f ops/s (generate + encode + apply)\n", reg ? "register" : "kv",
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
    fl_kv_close(&kv);
    fl_kv_close(&copy);
    fl_workload_close(&w);
    return 0;
}

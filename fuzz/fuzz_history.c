/* fuzz_history.c: libFuzzer target for the history readers (JSON lines and EDN), the JSON
 * parser under them, the pairing into ops and the checker on whatever parses, with small
 * limits. Untrusted bytes must give an error, never a crash or an assertion. */
#include "faultline/history.h"
#include "faultline/lincheck.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int edn = 0; edn < 2; edn++) {
        fl_history h;
        fl_history_init(&h);
        fl_history_error err;
        int rc = edn ? fl_history_read_edn(&h, (const char *)data, size, &err)
                     : fl_history_read_jsonl(&h, (const char *)data, size, &err);
        if (rc == 0) {
            fl_lincheck_opts o;
            fl_lincheck_opts_init(&o);
            o.model = FL_MODEL_KV;
            o.threads = 1;
            o.timeout_ns = 100 * FL_NS_PER_MS;
            o.memory_max_bytes = 8u << 20;
            fl_lincheck_result r;
            fl_lincheck_run(&h, &o, &r, &err);
            fl_lincheck_result_free(&r);
        }
        fl_history_free(&h);
    }
    return 0;
}

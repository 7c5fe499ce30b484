/* fuzz_history.c: libFuzzer target for the history readers (JSON lines, EDN, old Jepsen
 * logs), the JSON parser under them, the pairing into ops and the checker on whatever parses
 * (linearizability, then sequential consistency from an initial value of ""), with small
 * limits. Untrusted bytes must give an error, never a crash or an assertion. */
#include "faultline/history.h"
#include "faultline/lincheck.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int format = 0; format < 3; format++) {
        fl_history h;
        fl_history_init(&h);
        fl_history_error err;
        const char *s = (const char *)data;
        int rc = format == 2   ? fl_history_read_jepsen_log(&h, s, size, &err)
                 : format == 1 ? fl_history_read_edn(&h, s, size, &err)
                               : fl_history_read_jsonl(&h, s, size, &err);
        if (rc == 0) {
            fl_lincheck_opts o;
            fl_lincheck_opts_init(&o);
            o.model = fl_model_infer(&h);
            o.consistency = format == 1 ? FL_CONS_SEQUENTIAL : FL_CONS_LINEARIZABLE;
            o.all_keys = format != 0;
            if (o.model == FL_MODEL_KV)
                fl_value_str(&h, "", 0, &o.initial);
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

/* fuzz_scenario.c: libFuzzer target for the scenario reader (YAML through libyaml into a
 * scenario), what the simulator makes of whatever parses (fl_scenario_for_sim), and the writer
 * on it: untrusted bytes must give an error with file, line and column, never a crash or an
 * assertion; a scenario that parses must write out and parse back. */
#include "faultline/scenario.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_scenario s;
    char err[FL_SCENARIO_ERR_MAX];
    if (fl_scenario_parse(&s, "fuzz.yaml", (const char *)data, size, err, sizeof(err)) == 0) {
        fl_scenario_for_sim(&s, err, sizeof(err));
        fl_buf b;
        fl_buf_init(&b);
        if (fl_scenario_write(&s, "fuzz", &b) == 0) {
            fl_scenario back;
            if (fl_scenario_parse(&back, "back.yaml", (const char *)b.data, b.len, err,
                                  sizeof(err)))
                abort(); /* what the writer wrote must read back */
            fl_scenario_free(&back);
        }
        fl_buf_free(&b);
    }
    fl_scenario_free(&s);
    return 0;
}

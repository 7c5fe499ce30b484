/* fuzz_paxos_wire.c: libFuzzer target for the Multi-Paxos message decoder, every message
 * type. Any input must decode or be refused with an error; a decoded message must re-encode
 * to the same bytes. */
#include "faultline/error.h"
#include "faultline/paxos_wire.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_paxos_entry entries[64];
    fl_paxos_msg m;
    if (fl_wire_paxos_decode(data, size, &m, entries, 64) != 0)
        return 0;
    fl_buf b;
    fl_buf_init(&b);
    if (fl_wire_paxos_encode(&m, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
        abort(); /* decode then encode must be the identity on accepted input */
    fl_buf_free(&b);
    return 0;
}

/* fuzz_gossip_query.c: libFuzzer target for the agent's query codec (gossip_query.h) and the
 * opening of sealed datagrams (gossip_auth.h): any bytes give an error or a packet that
 * encodes back to the same bytes; nothing crashes. */
#include "faultline/assert.h"
#include "faultline/gossip_query.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_gq_packet q;
    fl_gossip_key k = {.set = true};
    size_t n;
    FL_ASSERT(fl_gossip_open(&k, NULL, data, size, 0, &n) != 0 || n + FL_GOSSIP_AUTH_BYTES == size);
    if (fl_gq_decode(data, size, &q) != 0)
        return 0;
    fl_buf b;
    fl_buf_init(&b);
    fl_gq_encode_header(&b, q.type, q.nonce, q.agent, q.offset, q.total);
    if (q.type == FL_GQ_STATS_REPLY)
        fl_gq_encode_stats(&b, q.stats);
    for (uint32_t i = 0; i < q.n; i++)
        fl_gq_encode_entry(&b, 0, &q.e[i]);
    FL_ASSERT(b.len == size && memcmp(b.data, data, size) == 0);
    fl_buf_free(&b);
    return 0;
}

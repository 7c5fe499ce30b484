/* fuzz_nemesis_reply.c: libFuzzer target for what `faultline nemesis` reads from the nodes it
 * tests (src/nemesis/proto.c): RESP replies, HTTP/1.1 replies (Content-Length or chunked),
 * etcd's JSON answers, FL.STATUS lines. The nodes are untrusted: a broken target must never
 * crash the harness that judges it.
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *  1. A reply's length is never longer than the input.
 *  2. A complete reply stays complete, with the same length, when bytes follow it (a parser
 *     that looks past its reply would mix two replies of one connection). */
#include "nemesis/nem_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_all(const nem_reply *r, fl_buf *scratch)
{
    fl_workload_op op;
    memset(&op, 0, sizeof(op));
    static const fl_kv_op kinds[] = {FL_KV_GET, FL_KV_PUT, FL_KV_CAS};
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 3; k++) {
            op.kind = kinds[k];
            nem_outcome o;
            nem_proto_decode((fl_nem_client)c, &op, r, scratch, &o);
            if (o.has_value && !o.nil && o.value_len && !o.value)
                abort();
        }
    bool leader;
    fl_term term;
    uint64_t commit;
    nem_proto_status(FL_NEM_CLIENT_RESP, r, &leader, &term, &commit);
    nem_proto_status(FL_NEM_CLIENT_ETCD, r, &leader, &term, &commit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_buf body, body2, scratch;
    fl_buf_init(&body);
    fl_buf_init(&body2);
    fl_buf_init(&scratch);
    uint8_t *more = malloc(size + 8);
    if (!more)
        return 0;
    memcpy(more, data, size);
    memcpy(more + size, "+OK\r\n\r\n", 7);
    nem_reply r, r2;
    long n = nem_resp_reply(data, size, &r);
    if (n > (long)size)
        abort();
    if (n > 0) {
        decode_all(&r, &scratch);
        if (nem_resp_reply(more, size + 7, &r2) != n)
            abort();
    }
    n = nem_http_reply(data, size, &body, &r);
    if (n > (long)size)
        abort();
    if (n > 0) {
        decode_all(&r, &scratch);
        if (nem_http_reply(more, size + 7, &body2, &r2) != n)
            abort();
    }
    free(more);
    fl_buf_free(&body);
    fl_buf_free(&body2);
    fl_buf_free(&scratch);
    return 0;
}

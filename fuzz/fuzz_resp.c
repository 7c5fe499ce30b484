/* fuzz_resp.c: libFuzzer target for the RESP2 parser (io/resp.c).
 *
 * Properties checked on every input, beyond "no crash, no sanitizer report":
 *  1. Feeding the input whole or in chunks (sizes derived from the first byte) yields the
 *     same commands and the same final status: splitting never changes the meaning.
 *  2. Re-encoding the parsed commands as multibulk and parsing that gives them back. */
#include "faultline/error.h"
#include "faultline/resp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses in, chunk bytes at a time (0 = whole), like a connection: unconsumed bytes stay
 * buffered. Re-encodes the commands into out; returns the final status. */
static int feed(const fl_resp_limits *lim, const uint8_t *in, size_t len, size_t chunk, fl_buf *out)
{
    fl_resp_parser p;
    fl_resp_parser_init(&p, lim);
    fl_buf pend;
    fl_buf_init(&pend);
    int status = 0;
    for (size_t from = 0; from < len && status == 0;) {
        size_t n = chunk && chunk < len - from ? chunk : len - from;
        fl_buf_put_bytes(&pend, in + from, n);
        from += n;
        size_t off = 0, used;
        int rc;
        while ((rc = fl_resp_parse(&p, pend.data + off, pend.len - off, &used)) == FL_RESP_CMD) {
            if (p.argc == 0)
                abort(); /* a command always has a name */
            fl_resp_put_command(out, p.argc, p.argv);
            off += used;
        }
        off += used;
        if (off > pend.len)
            abort();
        if (off) {
            memmove(pend.data, pend.data + off, pend.len - off);
            pend.len -= off;
        }
        if (rc < 0)
            status = rc;
    }
    fl_buf_free(&pend);
    fl_resp_parser_free(&p);
    return status;
}

static bool same(const fl_buf *a, const fl_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fl_resp_limits small = {
        .args_max = 8, .bulk_len_max = 64, .inline_len_max = 64, .request_bytes_max = 128};
    const fl_resp_limits *lim = (data[0] & 0x80) ? &small : NULL;
    size_t chunk = (size_t)(data[0] & 0x7f) % 17 + 1;
    data++;
    size--;

    fl_buf whole, parts, again;
    fl_buf_init(&whole);
    fl_buf_init(&parts);
    fl_buf_init(&again);
    int rc_whole = feed(lim, data, size, 0, &whole);
    int rc_parts = feed(lim, data, size, chunk, &parts);
    if (rc_whole != rc_parts || !same(&whole, &parts))
        abort();
    /* the re-encoded commands are valid multibulk under default limits */
    if (whole.len && (feed(NULL, whole.data, whole.len, 0, &again) != 0 || !same(&whole, &again)))
        abort();
    fl_buf_free(&whole);
    fl_buf_free(&parts);
    fl_buf_free(&again);
    return 0;
}

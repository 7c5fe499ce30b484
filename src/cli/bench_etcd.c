/* bench_etcd.c: what `faultline bench --proto etcd` says to etcd's v3 JSON gateway (etcd 3.4,
 * HTTP/1.1 keep-alive): a write is POST /v3/kv/put {"key": base64, "value": base64}, a read
 * POST /v3/kv/range {"key": base64} (linearizable: etcd's default), and each answer is one
 * response with a Content-Length. A range's value is the first "value" of its "kvs" (none:
 * the key is missing, a nil). Anything but a 200 with a body is an error reply; a response
 * that cannot be framed (no Content-Length, chunked, too long) is a broken connection. */
#include "cli/bench_etcd.h"

#include "faultline/base64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEAD_MAX 8192 /* response headers */

void fl__bench_etcd_request(fl_buf *out, const char *host, bool write, const void *key,
                            size_t key_len, const void *value, size_t value_len)
{
    fl_buf body;
    fl_buf_init(&body);
    fl_buf_put_str(&body, "{\"key\":\"");
    fl_base64_put(&body, key, key_len);
    if (write) {
        fl_buf_put_str(&body, "\",\"value\":\"");
        fl_base64_put(&body, value, value_len);
    }
    fl_buf_put_str(&body, "\"}");
    fl_buf_printf(out,
                  "POST /v3/kv/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  write ? "put" : "range", host, body.len);
    fl_buf_put_bytes(out, body.data, body.len);
    fl_buf_free(&body);
}

/* The header section's Content-Length (-1: none or not a number). */
static long content_length(const char *head, size_t n)
{
    static const char name[] = "\r\ncontent-length:";
    for (size_t i = 0; i + sizeof(name) - 1 <= n; i++) {
        if (strncasecmp(head + i, name, sizeof(name) - 1) != 0)
            continue;
        char *end;
        long v = strtol(head + i + sizeof(name) - 1, &end, 10);
        return end == head + i + sizeof(name) - 1 || v < 0 ? -1 : v;
    }
    return -1;
}

long fl__bench_etcd_reply(const uint8_t *in, size_t len, size_t body_max, char *kind, uint8_t *val,
                          size_t val_cap, long *vlen)
{
    const uint8_t *end = NULL;
    for (size_t i = 0; i + 4 <= len && !end; i++)
        if (!memcmp(in + i, "\r\n\r\n", 4))
            end = in + i;
    if (!end)
        return len > HEAD_MAX ? -1 : 0;
    size_t head = (size_t)(end - in) + 4;
    long body = content_length((const char *)in, head - 2);
    if (body < 0 || (size_t)body > body_max)
        return -1;
    if (len - head < (size_t)body)
        return 0;
    *vlen = -1; /* nil */
    bool ok = len > 12 && !memcmp(in, "HTTP/1.1 200", 12) && body > 0;
    *kind = ok ? '$' : '-';
    const char *b = (const char *)in + head;
    static const char tag[] = "\"value\":\"";
    for (long i = 0; ok && i + (long)sizeof(tag) - 1 <= body; i++) {
        if (memcmp(b + i, tag, sizeof(tag) - 1) != 0)
            continue;
        const char *v = b + i + sizeof(tag) - 1, *q = memchr(v, '"', (size_t)(b + body - v));
        if (!q || (*vlen = fl_base64_decode(v, (size_t)(q - v), val, val_cap)) < 0)
            *kind = '-';
        break;
    }
    return (long)(head + (size_t)body);
}

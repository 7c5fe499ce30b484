/* proto.c: what the nemesis says to nodes and how it reads their answers, for its two client
 * protocols:
 *
 *   RESP (faultline, or any Redis-protocol server): GET k, SET k v, CAS k expected new
 *     (SET k v NX when the key is expected absent), APPEND k v, DEL k, INCRBY k d; roles
 *     from FL.STATUS ("role:leader term:3 ... commit_index:17").
 *   etcd's v3 JSON gateway over HTTP/1.1 (keep-alive, no TLS): POST /v3/kv/range, /v3/kv/put,
 *     /v3/kv/txn (compare-and-set: a value compare, or create_revision 0 for "absent");
 *     roles from POST /v3/maintenance/status (leader == header.member_id). Keys and values
 *     are base64 in JSON, 64-bit numbers are strings.
 *
 * Outcomes follow Jepsen: a read that got an error did nothing (fail); a write that got an
 * error may still take effect (info), except a compare-and-set that answered "no match"
 * (fail). Replies are untrusted bytes: malformed ones are rejected, never asserted on. */
#include "nem_int.h"

#include "faultline/base64.h"
#include "faultline/json_read.h"
#include "faultline/resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_NODES_MAX 512
#define LINE_MAX_BYTES 1024

/* ---- RESP ------------------------------------------------------------------------------ */

/* A line ending in CRLF at p[0..len): its length without CRLF, or -1 (incomplete). */
static long line_len(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len && i < LINE_MAX_BYTES; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return (long)i;
    return len >= LINE_MAX_BYTES ? -2 : -1;
}

static bool parse_i64(const uint8_t *p, size_t n, int64_t *out)
{
    bool neg = n > 0 && p[0] == '-';
    size_t i = neg;
    int64_t v = 0;
    if (i == n || n > 19)
        return false;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

long nem_resp_reply(const uint8_t *in, size_t len, nem_reply *r)
{
    memset(r, 0, sizeof(*r));
    if (len < 1)
        return 0;
    long l = line_len(in + 1, len - 1);
    if (l == -1)
        return 0;
    if (l < 0)
        return -1;
    const uint8_t *body = in + 1;
    long head = 1 + l + 2;
    switch (in[0]) {
    case '+':
    case '-':
        r->kind = in[0] == '+' ? NR_SIMPLE : NR_ERROR;
        r->p = body;
        r->n = (size_t)l;
        return head;
    case ':':
        r->kind = NR_INT;
        return parse_i64(body, (size_t)l, &r->i) ? head : -1;
    case '$': {
        int64_t n;
        if (!parse_i64(body, (size_t)l, &n) || n < -1 || n > (64 << 20))
            return -1;
        if (n == -1) {
            r->kind = NR_NIL;
            return head;
        }
        if (len < (size_t)head + (size_t)n + 2)
            return 0;
        r->kind = NR_BULK;
        r->p = in + head;
        r->n = (size_t)n;
        return head + (long)n + 2;
    }
    default:
        return -1; /* arrays are never asked for */
    }
}

static void resp_cmd(fl_buf *out, int argc, const char *const *argv, const size_t *lens)
{
    fl_resp_arg a[5];
    for (int i = 0; i < argc; i++)
        a[i] = (fl_resp_arg){(const uint8_t *)argv[i], lens[i]};
    fl_resp_put_command(out, (size_t)argc, a);
}

static void resp_request(const fl_workload_op *op, fl_buf *out)
{
    char d[24];
    const char *k = op->key, *v = (const char *)op->value;
    switch (op->kind) {
    case FL_KV_PUT:
        resp_cmd(out, 3, (const char *[]){"SET", k, v}, (size_t[]){3, op->key_len, op->value_len});
        break;
    case FL_KV_CAS:
        if (op->expect_absent)
            resp_cmd(out, 4, (const char *[]){"SET", k, v, "NX"},
                     (size_t[]){3, op->key_len, op->value_len, 2});
        else
            resp_cmd(out, 4, (const char *[]){"CAS", k, (const char *)op->expect, v},
                     (size_t[]){3, op->key_len, op->expect_len, op->value_len});
        break;
    case FL_KV_APPEND:
        resp_cmd(out, 3, (const char *[]){"APPEND", k, v},
                 (size_t[]){6, op->key_len, op->value_len});
        break;
    case FL_KV_DELETE:
        resp_cmd(out, 2, (const char *[]){"DEL", k}, (size_t[]){3, op->key_len});
        break;
    case FL_KV_INCR:
        snprintf(d, sizeof(d), "%lld", (long long)op->delta);
        resp_cmd(out, 3, (const char *[]){"INCRBY", k, d}, (size_t[]){6, op->key_len, strlen(d)});
        break;
    default:
        resp_cmd(out, 2, (const char *[]){"GET", k}, (size_t[]){3, op->key_len});
        break;
    }
}

static void error_text(nem_outcome *o, const uint8_t *p, size_t n)
{
    snprintf(o->error, sizeof(o->error), "%.*s", (int)(n < 90 ? n : 90), (const char *)p);
}

static void resp_decode(const fl_workload_op *op, const nem_reply *r, nem_outcome *o)
{
    bool read = op->kind == FL_KV_GET;
    o->type = FL_EV_OK;
    if (r->kind == NR_ERROR) {
        o->type = read ? FL_EV_FAIL : FL_EV_INFO;
        error_text(o, r->p, r->n);
    } else if (read) {
        o->has_value = true;
        o->nil = r->kind != NR_BULK;
        o->value = r->p;
        o->value_len = r->n;
    } else if (op->kind == FL_KV_CAS) {
        /* CAS: :1 swapped, :0 not; SET NX: +OK, or nil when the key exists */
        bool swapped = op->expect_absent ? r->kind == NR_SIMPLE : r->kind == NR_INT && r->i == 1;
        o->type = swapped ? FL_EV_OK : FL_EV_FAIL;
    }
}

/* ---- HTTP + JSON (etcd) ------------------------------------------------------------------ */

/* Decodes base64 text into out; returns false for bytes that are not base64. */
static bool b64_get(const char *s, size_t n, fl_buf *out)
{
    if (n == 0)
        return true;
    uint8_t *p = fl_buf_extend(out, n); /* never more bytes than characters */
    long k = p ? fl_base64_decode(s, n, p, n) : -1;
    if (p)
        out->len -= n - (k < 0 ? 0 : (size_t)k);
    return k >= 0;
}

static void http_post(fl_buf *out, const char *host, const char *path, const fl_buf *body)
{
    fl_buf_printf(out,
                  "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  path, host, body->len);
    fl_buf_put_bytes(out, body->data, body->len);
}

static void json_b64(fl_buf *b, const char *name, const void *p, size_t n)
{
    fl_buf_printf(b, "\"%s\":\"", name);
    fl_base64_put(b, p, n);
    fl_buf_put_u8(b, '"');
}

static void etcd_request(const char *host, const fl_workload_op *op, fl_buf *out)
{
    fl_buf b;
    fl_buf_init(&b);
    const char *path = "/v3/kv/range";
    fl_buf_put_u8(&b, '{');
    if (op->kind == FL_KV_PUT) {
        path = "/v3/kv/put";
        json_b64(&b, "key", op->key, op->key_len);
        fl_buf_put_u8(&b, ',');
        json_b64(&b, "value", op->value, op->value_len);
    } else if (op->kind == FL_KV_CAS) {
        path = "/v3/kv/txn";
        fl_buf_put_str(&b, "\"compare\":[{");
        json_b64(&b, "key", op->key, op->key_len);
        if (op->expect_absent) {
            fl_buf_put_str(&b,
                           ",\"result\":\"EQUAL\",\"target\":\"CREATE\",\"create_revision\":\"0\"");
        } else {
            fl_buf_put_str(&b, ",\"result\":\"EQUAL\",\"target\":\"VALUE\",");
            json_b64(&b, "value", op->expect, op->expect_len);
        }
        fl_buf_put_str(&b, "}],\"success\":[{\"request_put\":{");
        json_b64(&b, "key", op->key, op->key_len);
        fl_buf_put_u8(&b, ',');
        json_b64(&b, "value", op->value, op->value_len);
        fl_buf_put_str(&b, "}}]");
    } else {
        json_b64(&b, "key", op->key, op->key_len);
    }
    fl_buf_put_u8(&b, '}');
    http_post(out, host, path, &b);
    fl_buf_free(&b);
}

/* Header value of name (case-insensitive) in head[0..n), or NULL. */
static const char *header(const char *head, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (const char *p = head; p && p < head + n;) {
        const char *eol = memchr(p, '\n', (size_t)(head + n - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && *v == ' ')
                v++;
            *vlen = (size_t)(eol - v) - (eol > v && eol[-1] == '\r');
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/* A chunked body at p[0..len) into body: its length with the final chunk, 0 for more, -1. */
static long dechunk(const uint8_t *p, size_t len, fl_buf *body)
{
    size_t off = 0;
    fl_buf_reset(body);
    for (;;) {
        long l = line_len(p + off, len - off);
        if (l == -1)
            return 0;
        if (l < 0)
            return -1;
        char *end;
        char hex[24];
        snprintf(hex, sizeof(hex), "%.*s", (int)(l < 20 ? l : 20), (const char *)p + off);
        unsigned long n = strtoul(hex, &end, 16);
        if (end == hex || n > (16u << 20))
            return -1;
        off += (size_t)l + 2;
        if (len - off < n + 2)
            return 0;
        if (n == 0)
            return (long)(off + 2);
        fl_buf_put_bytes(body, p + off, n);
        off += n + 2;
    }
}

/* The decimal number at the start of p[0..n) (no terminator needed), at most 9 digits. */
static long leading_digits(const char *p, size_t n)
{
    long v = -1;
    for (size_t i = 0; i < n && i < 9 && p[i] >= '0' && p[i] <= '9'; i++)
        v = (v < 0 ? 0 : v * 10) + (p[i] - '0');
    return v;
}

long nem_http_reply(const uint8_t *in, size_t len, fl_buf *body, nem_reply *r)
{
    memset(r, 0, sizeof(*r));
    const uint8_t *end = NULL;
    for (size_t i = 0; i + 3 < len && !end; i++)
        if (!memcmp(in + i, "\r\n\r\n", 4))
            end = in + i;
    if (!end)
        return len > 65536 ? -1 : 0;
    size_t head = (size_t)(end - in) + 4;
    if (len < 12 || memcmp(in, "HTTP/1.", 7))
        return -1;
    r->http_status = (int)leading_digits((const char *)in + 9, head - 9);
    r->kind = NR_OTHER;
    size_t vl;
    const char *cl = header((const char *)in, head, "Content-Length", &vl);
    const char *te = header((const char *)in, head, "Transfer-Encoding", &vl);
    if (cl) {
        size_t cl_len;
        header((const char *)in, head, "Content-Length", &cl_len);
        long n = leading_digits(cl, cl_len);
        if (n < 0 || n > (16l << 20))
            return -1;
        if (len < head + (size_t)n)
            return 0;
        fl_buf_reset(body);
        fl_buf_put_bytes(body, in + head, (size_t)n);
        r->p = body->data;
        r->n = body->len;
        return (long)head + n;
    }
    if (te && vl >= 7 && !strncasecmp(te, "chunked", 7)) {
        long n = dechunk(in + head, len - head, body);
        r->p = body->data;
        r->n = body->len;
        return n > 0 ? (long)head + n : n;
    }
    return -1; /* a keep-alive reply always says how long it is */
}

static void etcd_decode(const fl_workload_op *op, const nem_reply *r, fl_buf *scratch,
                        nem_outcome *o)
{
    bool read = op->kind == FL_KV_GET;
    fl_jr_node nodes[JSON_NODES_MAX];
    fl_jr_doc d;
    bool parsed = r->n && fl_jr_parse(&d, (const char *)r->p, r->n, nodes, JSON_NODES_MAX) == 0;
    if (r->http_status != 200 || !parsed || fl_jr_get(&d, 0, "error") != FL_JR_NONE) {
        o->type = read ? FL_EV_FAIL : FL_EV_INFO;
        error_text(o, r->p ? r->p : (const uint8_t *)"", r->n);
        return;
    }
    o->type = FL_EV_OK;
    if (op->kind == FL_KV_CAS) {
        uint32_t s = fl_jr_get(&d, 0, "succeeded");
        o->type = s != FL_JR_NONE && nodes[s].type == FL_JR_TRUE ? FL_EV_OK : FL_EV_FAIL;
    } else if (read) {
        o->has_value = true;
        o->nil = true;
        uint32_t kv = fl_jr_at(&d, fl_jr_get(&d, 0, "kvs"), 0);
        uint32_t v = kv ? fl_jr_get(&d, kv, "value") : FL_JR_NONE;
        fl_buf_reset(scratch);
        if (kv && v == FL_JR_NONE) { /* an empty value is left out */
            o->nil = false;
        } else if (v && nodes[v].type == FL_JR_STRING &&
                   b64_get(d.text + nodes[v].off, nodes[v].len, scratch)) {
            o->nil = false;
            o->value = scratch->data;
            o->value_len = scratch->len;
        } else if (v) {
            o->type = FL_EV_FAIL;
            snprintf(o->error, sizeof(o->error), "a range reply with a value that is not base64");
        }
    }
}

/* ---- both --------------------------------------------------------------------------------- */

void nem_proto_request(fl_nem_client k, const char *host, const fl_workload_op *op, fl_buf *out)
{
    if (k == FL_NEM_CLIENT_ETCD)
        etcd_request(host, op, out);
    else
        resp_request(op, out);
}

void nem_proto_decode(fl_nem_client k, const fl_workload_op *op, const nem_reply *r,
                      fl_buf *scratch, nem_outcome *o)
{
    memset(o, 0, sizeof(*o));
    if (k == FL_NEM_CLIENT_ETCD)
        etcd_decode(op, r, scratch, o);
    else
        resp_decode(op, r, o);
}

void nem_proto_status_request(fl_nem_client k, const char *host, fl_buf *out)
{
    if (k == FL_NEM_CLIENT_ETCD) {
        fl_buf b;
        fl_buf_init(&b);
        fl_buf_put_str(&b, "{}");
        http_post(out, host, "/v3/maintenance/status", &b);
        fl_buf_free(&b);
    } else {
        fl_buf_put_str(out, "*1\r\n$9\r\nFL.STATUS\r\n");
    }
}

/* "name:123" in a FL.STATUS line. */
static bool status_field(const uint8_t *p, size_t n, const char *name, uint64_t *v)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl < n; i++) {
        if ((i == 0 || p[i - 1] == ' ') && !memcmp(p + i, name, nl)) {
            int64_t x = 0;
            size_t j = i + nl;
            size_t k = j;
            while (k < n && p[k] >= '0' && p[k] <= '9')
                k++;
            if (!parse_i64(p + j, k - j, &x))
                return false;
            *v = (uint64_t)x;
            return true;
        }
    }
    return false;
}

bool nem_proto_status_field(const nem_reply *r, const char *name, uint64_t *v)
{
    return r->kind == NR_BULK && status_field(r->p, r->n, name, v);
}

static bool json_u64(const fl_jr_doc *d, uint32_t n, uint64_t *v)
{
    char s[24];
    size_t len;
    if (n == FL_JR_NONE)
        return false;
    if (d->nodes[n].type == FL_JR_NUMBER) {
        int64_t x;
        if (fl_jr_int(d, n, &x) || x < 0)
            return false;
        *v = (uint64_t)x;
        return true;
    }
    if (fl_jr_str(d, n, s, sizeof(s), &len))
        return false;
    char *end;
    *v = strtoull(s, &end, 10);
    return end != s && *end == 0;
}

bool nem_proto_status(fl_nem_client k, const nem_reply *r, bool *leader, fl_term *term,
                      uint64_t *commit)
{
    uint64_t t = 0, c = 0;
    if (k == FL_NEM_CLIENT_RESP) {
        if (r->kind != NR_BULK || !status_field(r->p, r->n, "term:", &t))
            return false;
        status_field(r->p, r->n, "commit_index:", &c);
        const char *role = "role:leader ";
        *leader = r->n > 12 && memmem(r->p, r->n, role, strlen(role)) != NULL;
    } else {
        fl_jr_node nodes[JSON_NODES_MAX];
        fl_jr_doc d;
        if (r->http_status != 200 || !r->n ||
            fl_jr_parse(&d, (const char *)r->p, r->n, nodes, JSON_NODES_MAX))
            return false;
        uint64_t me = 0, lead = 0;
        uint32_t h = fl_jr_get(&d, 0, "header");
        if (!json_u64(&d, fl_jr_get(&d, h, "member_id"), &me) ||
            !json_u64(&d, fl_jr_get(&d, 0, "raftTerm"), &t))
            return false;
        json_u64(&d, fl_jr_get(&d, 0, "leader"), &lead);
        json_u64(&d, fl_jr_get(&d, 0, "raftIndex"), &c);
        *leader = me != 0 && lead == me;
    }
    *term = t;
    *commit = c;
    return true;
}

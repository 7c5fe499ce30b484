/* report_doc.c: reading a run directory's files and looking values up in its JSON documents
 * by dotted path. Files are untrusted: every failure is a message, never an assertion. */
#include "report_int.h"

#include "faultline/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rp_read_file(const char *dir, const char *name, fl_buf *out, char *why, size_t why_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return FL_ENOTFOUND;
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        return FL_EIO;
    }
    int rc = 0;
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > FL_REPORT_FILE_MAX) {
            snprintf(why, why_size, "%s: larger than %zu bytes", path, FL_REPORT_FILE_MAX);
            rc = FL_ETOOBIG;
            break;
        }
        fl_buf_put_bytes(out, chunk, n);
        if (out->err) {
            snprintf(why, why_size, "%s: out of memory", path);
            rc = FL_ENOMEM;
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(why, why_size, "%s: read error", path);
        rc = FL_EIO;
    }
    fclose(f);
    return rc;
}

int rp_doc_load(rp_doc *doc, const char *dir, const char *name, char *why, size_t why_size)
{
    memset(doc, 0, sizeof(*doc));
    fl_buf_init(&doc->text);
    int rc = rp_read_file(dir, name, &doc->text, why, why_size);
    if (rc)
        return rc;
    /* every value takes at least one byte of text: len + 1 nodes always suffice */
    size_t max = doc->text.len + 1;
    if (max > UINT32_MAX) {
        snprintf(why, why_size, "%s/%s: too large for a JSON document", dir, name);
        return FL_ETOOBIG;
    }
    doc->nodes = malloc(max * sizeof(*doc->nodes));
    if (!doc->nodes) {
        snprintf(why, why_size, "%s/%s: out of memory", dir, name);
        return FL_ENOMEM;
    }
    const char *text = doc->text.data ? (const char *)doc->text.data : "";
    rc = fl_jr_parse(&doc->d, text, doc->text.len, doc->nodes, (uint32_t)max);
    if (rc) {
        snprintf(why, why_size, "%s/%s: byte %zu: %s", dir, name, doc->d.err_off,
                 doc->d.err_msg ? doc->d.err_msg : "not JSON");
        return rc;
    }
    doc->ok = true;
    return 0;
}

void rp_doc_free(rp_doc *doc)
{
    fl_buf_free(&doc->text);
    free(doc->nodes);
    memset(doc, 0, sizeof(*doc));
}

uint32_t rp_at(const fl_jr_doc *d, uint32_t from, const char *path)
{
    if (from >= d->count)
        return FL_JR_NONE; /* RP_NOWHERE */
    uint32_t n = from;     /* the root is 0, which is also FL_JR_NONE: only a lookup can fail */
    char key[64];
    while (*path) {
        size_t k = strcspn(path, ".");
        if (k >= sizeof(key))
            return FL_JR_NONE;
        memcpy(key, path, k);
        key[k] = 0;
        n = fl_jr_get(d, n, key);
        if (n == FL_JR_NONE)
            return FL_JR_NONE;
        path += k + (path[k] == '.');
    }
    return n;
}

bool rp_has(const fl_jr_doc *d, uint32_t from, const char *path)
{
    uint32_t n = rp_at(d, from, path);
    return n != FL_JR_NONE && d->nodes[n].type != FL_JR_NULL;
}

double rp_num(const fl_jr_doc *d, uint32_t from, const char *path, double dflt)
{
    uint32_t n = rp_at(d, from, path);
    double v;
    return n != FL_JR_NONE && fl_jr_double(d, n, &v) == 0 ? v : dflt;
}

bool rp_bool(const fl_jr_doc *d, uint32_t from, const char *path, bool dflt)
{
    uint32_t n = rp_at(d, from, path);
    if (n == FL_JR_NONE || (d->nodes[n].type != FL_JR_TRUE && d->nodes[n].type != FL_JR_FALSE))
        return dflt;
    return d->nodes[n].type == FL_JR_TRUE;
}

const char *rp_str(const fl_jr_doc *d, uint32_t from, const char *path, char *buf, size_t cap)
{
    uint32_t n = rp_at(d, from, path);
    buf[0] = 0;
    if (n == FL_JR_NONE || d->nodes[n].type != FL_JR_STRING)
        return buf;
    size_t len = 0;
    int rc = fl_jr_str(d, n, buf, cap, &len);
    if (rc == 0) {
        buf[len < cap ? len : cap - 1] = 0;
    } else {
        /* truncate: take what fits of the raw slice (escapes shown as written) */
        size_t k = d->nodes[n].len < cap ? d->nodes[n].len : cap - 1;
        memcpy(buf, d->text + d->nodes[n].off, k);
        buf[k] = 0;
    }
    return buf;
}

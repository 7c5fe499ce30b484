/* json.c: streaming JSON writer (json.h). */
#include "faultline/json.h"

#include "faultline/assert.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void fl_json_init(fl_json *j, fl_buf *out, bool pretty)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
    j->pretty = pretty;
}

static void indent(fl_json *j)
{
    if (!j->pretty)
        return;
    fl_buf_put_u8(j->out, '\n');
    for (int i = 0; i < j->depth; i++)
        fl_buf_put_str(j->out, "  ");
}

/* Before any value: a comma if a sibling came before, unless the value follows a key. */
static void before_value(fl_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (j->need_comma[j->depth])
            fl_buf_put_u8(j->out, ',');
        j->need_comma[j->depth] = true;
        indent(j);
    }
}

static void open(fl_json *j, char c)
{
    before_value(j);
    fl_buf_put_u8(j->out, (uint8_t)c);
    FL_ASSERT(j->depth + 1 < FL_JSON_DEPTH_MAX);
    j->depth++;
    j->need_comma[j->depth] = false;
}

static void close_(fl_json *j, char c)
{
    FL_ASSERT(j->depth > 0);
    bool had = j->need_comma[j->depth];
    j->depth--;
    if (had)
        indent(j);
    fl_buf_put_u8(j->out, (uint8_t)c);
}

void fl_json_obj_begin(fl_json *j)
{
    open(j, '{');
}
void fl_json_obj_end(fl_json *j)
{
    close_(j, '}');
}
void fl_json_arr_begin(fl_json *j)
{
    open(j, '[');
}
void fl_json_arr_end(fl_json *j)
{
    close_(j, ']');
}

void fl_json_escape(fl_buf *b, const char *s, size_t n)
{
    fl_buf_put_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fl_buf_put_str(b, "\\\"");
            break;
        case '\\':
            fl_buf_put_str(b, "\\\\");
            break;
        case '\n':
            fl_buf_put_str(b, "\\n");
            break;
        case '\r':
            fl_buf_put_str(b, "\\r");
            break;
        case '\t':
            fl_buf_put_str(b, "\\t");
            break;
        default:
            if (c < 0x20)
                fl_buf_printf(b, "\\u%04x", c);
            else
                fl_buf_put_u8(b, c);
        }
    }
    fl_buf_put_u8(b, '"');
}

void fl_json_key(fl_json *j, const char *key)
{
    before_value(j);
    fl_json_escape(j->out, key, strlen(key));
    fl_buf_put_u8(j->out, ':');
    if (j->pretty)
        fl_buf_put_u8(j->out, ' ');
    j->after_key = true;
}

void fl_json_strn(fl_json *j, const char *s, size_t n)
{
    before_value(j);
    fl_json_escape(j->out, s, n);
}

void fl_json_str(fl_json *j, const char *s)
{
    if (!s) {
        fl_json_null(j);
        return;
    }
    fl_json_strn(j, s, strlen(s));
}

void fl_json_int(fl_json *j, int64_t v)
{
    before_value(j);
    fl_buf_printf(j->out, "%" PRId64, v);
}

void fl_json_uint(fl_json *j, uint64_t v)
{
    before_value(j);
    fl_buf_printf(j->out, "%" PRIu64, v);
}

void fl_json_double(fl_json *j, double v)
{
    before_value(j);
    if (!isfinite(v)) {
        fl_buf_put_str(j->out, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15)
        fl_buf_printf(j->out, "%.1f", v);
    else
        fl_buf_printf(j->out, "%.6g", v);
}

void fl_json_bool(fl_json *j, bool v)
{
    before_value(j);
    fl_buf_put_str(j->out, v ? "true" : "false");
}

void fl_json_null(fl_json *j)
{
    before_value(j);
    fl_buf_put_str(j->out, "null");
}

void fl_json_kv_str(fl_json *j, const char *key, const char *s)
{
    fl_json_key(j, key);
    fl_json_str(j, s);
}
void fl_json_kv_int(fl_json *j, const char *key, int64_t v)
{
    fl_json_key(j, key);
    fl_json_int(j, v);
}
void fl_json_kv_uint(fl_json *j, const char *key, uint64_t v)
{
    fl_json_key(j, key);
    fl_json_uint(j, v);
}
void fl_json_kv_double(fl_json *j, const char *key, double v)
{
    fl_json_key(j, key);
    fl_json_double(j, v);
}
void fl_json_kv_bool(fl_json *j, const char *key, bool v)
{
    fl_json_key(j, key);
    fl_json_bool(j, v);
}

/* json.h: a streaming JSON writer into an fl_buf. Commas and nesting are tracked, strings
 * are escaped (control characters, quotes, backslash; bytes >= 0x80 pass through, so valid
 * UTF-8 stays valid). Doubles that are not finite are written as null. */
#ifndef FAULTLINE_JSON_H
#define FAULTLINE_JSON_H

#include "faultline/buf.h"

#define FL_JSON_DEPTH_MAX 32

typedef struct fl_json {
    fl_buf *out;
    int depth;
    bool pretty;
    bool need_comma[FL_JSON_DEPTH_MAX];
    bool after_key;
} fl_json;

void fl_json_init(fl_json *j, fl_buf *out, bool pretty);
void fl_json_obj_begin(fl_json *j);
void fl_json_obj_end(fl_json *j);
void fl_json_arr_begin(fl_json *j);
void fl_json_arr_end(fl_json *j);
void fl_json_key(fl_json *j, const char *key);
void fl_json_str(fl_json *j, const char *s);
void fl_json_strn(fl_json *j, const char *s, size_t n);
void fl_json_int(fl_json *j, int64_t v);
void fl_json_uint(fl_json *j, uint64_t v);
void fl_json_double(fl_json *j, double v);
void fl_json_bool(fl_json *j, bool v);
void fl_json_null(fl_json *j);

/* Shorthands for "key": value inside an object. */
void fl_json_kv_str(fl_json *j, const char *key, const char *s);
void fl_json_kv_int(fl_json *j, const char *key, int64_t v);
void fl_json_kv_uint(fl_json *j, const char *key, uint64_t v);
void fl_json_kv_double(fl_json *j, const char *key, double v);
void fl_json_kv_bool(fl_json *j, const char *key, bool v);

/* Appends s escaped as a JSON string (with quotes) to b. */
void fl_json_escape(fl_buf *b, const char *s, size_t n);

#endif

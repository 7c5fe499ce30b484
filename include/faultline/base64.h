/* base64.h: base64 with the standard alphabet and '=' padding (RFC 4648 section 4), as etcd's
 * v3 JSON gateway carries keys and values: the bench's etcd load and the nemesis's etcd
 * client share it. fl_base64_put(b, "foo", 3) appends "Zm9v". */
#ifndef FAULTLINE_BASE64_H
#define FAULTLINE_BASE64_H

#include "faultline/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Appends the base64 text of p[0..n) to out (out->err on failure). */
void fl_base64_put(fl_buf *out, const void *p, size_t n);
/* Decodes base64 text s[0..n) (it ends at the first '=') into out[0..cap). Returns the
 * number of bytes, or -1 for a byte that is not base64 or more than cap bytes. */
long fl_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap);

#endif

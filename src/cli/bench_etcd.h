/* bench_etcd.h: requests and replies of etcd's v3 JSON gateway for `faultline bench --proto
 * etcd` (bench_etcd.c). */
#ifndef FL_BENCH_ETCD_H
#define FL_BENCH_ETCD_H

#include "faultline/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Appends one HTTP request to out: a put of value under key (write), or a range of key. */
void fl__bench_etcd_request(fl_buf *out, const char *host, bool write, const void *key,
                            size_t key_len, const void *value, size_t value_len);
/* Parses one response at in[0..len): returns its size, 0 if incomplete, -1 if it cannot be
 * framed (no Content-Length, a body over body_max, headers over 8 KiB). *kind is '$' for a
 * 200 (*vlen: the first value it carries, decoded into val (at most val_cap bytes), or -1 for
 * none) and '-' otherwise. */
long fl__bench_etcd_reply(const uint8_t *in, size_t len, size_t body_max, char *kind, uint8_t *val,
                          size_t val_cap, long *vlen);

#endif

/* wal.c: the write-ahead log's format, codecs and write path: append, group-commit sync,
 * rotation, segment deletion (wal.h). Recovery and iteration are in wal_recover.c.
 *
 * ON-DISK FORMAT (version 2; version 1 segments are read the same way). All integers are
 * little-endian.
 *
 * A log is a directory of segment files named "wal-" + the seq of the segment's first
 * record as 20 decimal digits + ".seg" (wal-00000000000000000001.seg), so names sort in log
 * order. Files named *.seg.tmp are unfinished segments from a crashed rotation and are
 * deleted at open; other names are ignored.
 *
 * A segment is a 32-byte header followed by zero or more records, back to back:
 *
 *   segment header
 *   offset size  field
 *        0    4  magic: the bytes 'F' 'L' 'W' 'L'
 *        4    2  format version: 2 (1: written before preallocation; see ZERO TAIL)
 *        6    2  reserved: 0
 *        8    8  segment number: 1 for the first segment of a log, +1 for each next one
 *       16    8  first seq: seq of the segment's first record (equals the name)
 *       24    4  reserved: 0
 *       28    4  CRC32C of bytes 0..27
 *
 *   record (16 + L bytes)
 *   offset size  field
 *        0    4  L: payload length, 0 <= L <= 64 MiB (FL_WAL_RECORD_LEN_LIMIT)
 *        4    4  CRC32C of bytes 0..3 followed by bytes 8..15+L (length, seq, payload)
 *        8    8  seq: the previous record's seq + 1 (the header's first seq for the first)
 *       16    L  payload: opaque bytes
 *
 * Across segments: segment numbers increase by one and each segment's first seq is the
 * previous segment's last seq + 1 (an empty segment's "last" is its first seq - 1).
 *
 * ZERO TAIL (preallocation, version 2). A segment may end in zero bytes after its last
 * record: space the WAL filled with zeros ahead of its write position (fl_wal_prefill), so
 * that a record's fdatasync overwrites allocated, already-written blocks and flushes data
 * pages only (no file size or extent change to journal: issue 16, docs/wal.md). The design:
 *  - End of records. Where a record fails its checks and every byte from there to the end
 *    of the file is zero, the segment simply ends there (any segment: a segment rotated away
 *    keeps its unused tail, at most one record's size since the fill never passes
 *    segment_size_max; nothing is truncated). All-zero bytes are never a valid record (seq 0
 *    is never used and the CRC of a zero header is not 0). A lost middle of a non-last
 *    segment cannot hide as a zero tail: the next segment's first seq would not follow.
 *  - Anything nonzero after the failing record (a torn record followed by zeros, a record
 *    whose first page did not land but a later one did, a flipped bit) is judged as before:
 *    in the last segment with no valid record after it, a torn tail, truncated (zeros and
 *    all); otherwise corruption, refused. So damage followed by valid records is never cut.
 *  - Who writes the zeros, when: fl_wal_prefill, called by the Raft store's sync job on the
 *    sync worker thread (never on the event loop) just before its fl_wal_sync: it writes the
 *    buffered records, then, when less than prefill/2 zeroed bytes lie ahead, zeros from
 *    file_len to prefill ahead (capped at segment_size_max); the job's one fdatasync then
 *    covers records and zeros (one sync in about prefill/2 bytes of log pays for the zeros'
 *    blocks and the new file size; the zeros need no sync of their own: unsynced, a crash
 *    leaves fewer of them, which reads the same). Only the job touches the WAL while it
 *    runs (raft_store.h), so the loop's own writes (a full buffer, a rotation) and the zeros
 *    never run at once; zeros only go at or past file_len >= file_size, so never over a
 *    record. When appends outrun the fill, records go past file_len and extend the file,
 *    exactly as without preallocation. A crash during a fill leaves fewer zeros (or a
 *    shorter file): the same end of records.
 *  - Recovery keeps the zero tail of the last segment (file_len = the file's length) and
 *    appends over it.
 *  - The next segment is not created ahead: rotation is once per segment_size_max.
 *
 * Write path invariants:
 *  1. Only the last segment is ever written; a segment is created complete (header written,
 *     synced, then renamed into place, directory synced) before any record goes into it, and
 *     the previous segment is fully written and fdatasync'ed before that. So damage outside
 *     the last segment can only be corruption, never a torn write.
 *  2. Records reach the file in seq order, each whole in one buffer; file_size is the
 *     offset where the next buffer goes; [file_size, file_len) holds only zeros the WAL wrote,
 *     and zeros are written only at or after file_len.
 *  3. synced_seq <= next_seq - 1, and every record up to synced_seq has been fdatasync'ed.
 *  4. Once err != 0 nothing more is written. */
#include "wal_format.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- format ---- */

const char *fl__wal_check_text(int check)
{
    switch (check) {
    case WAL_OK:
        return "ok";
    case WAL_TRUNC:
        return "truncated (runs past the end of the file)";
    case WAL_BADLEN:
        return "bad length";
    case WAL_BADCRC:
        return "checksum mismatch";
    case WAL_BADSEQ:
        return "unexpected sequence number";
    case WAL_BADMAGIC:
        return "bad magic";
    }
    return "?";
}

void fl__wal_segment_name(char out[WAL_NAME_SIZE], uint64_t first_seq)
{
    snprintf(out, WAL_NAME_SIZE, WAL_NAME_PREFIX "%020" PRIu64 WAL_NAME_SUFFIX, first_seq);
}

void fl__wal_encode_header(uint8_t out[WAL_HEADER_SIZE], uint64_t segno, uint64_t first_seq)
{
    memset(out, 0, WAL_HEADER_SIZE);
    out[0] = WAL_MAGIC0;
    out[1] = WAL_MAGIC1;
    out[2] = WAL_MAGIC2;
    out[3] = WAL_MAGIC3;
    out[4] = WAL_VERSION;
    fl_put_u64le(out + 8, segno);
    fl_put_u64le(out + 16, first_seq);
    fl_put_u32le(out + 28, fl_crc32c(0, out, 28));
}

int fl__wal_check_header(const uint8_t *p, size_t size, uint64_t *segno, uint64_t *first_seq,
                         uint16_t *version)
{
    if (size < WAL_HEADER_SIZE)
        return WAL_TRUNC;
    if (p[0] != WAL_MAGIC0 || p[1] != WAL_MAGIC1 || p[2] != WAL_MAGIC2 || p[3] != WAL_MAGIC3)
        return WAL_BADMAGIC;
    if (fl_get_u32le(p + 28) != fl_crc32c(0, p, 28))
        return WAL_BADCRC;
    *version = (uint16_t)(p[4] | p[5] << 8);
    *segno = fl_get_u64le(p + 8);
    *first_seq = fl_get_u64le(p + 16);
    return WAL_OK;
}

uint32_t fl__wal_record_crc(const uint8_t *rec, uint32_t len)
{
    uint32_t crc = fl_crc32c(0, rec, 4);
    return fl_crc32c(crc, rec + 8, 8 + (size_t)len);
}

int fl__wal_check_record(const uint8_t *p, size_t size, size_t off, uint64_t seq_want,
                         uint32_t *len)
{
    if (off > size || size - off < WAL_REC_HEADER_SIZE) /* off > size: a file that shrank */
        return WAL_TRUNC;
    const uint8_t *rec = p + off;
    uint32_t n = fl_get_u32le(rec);
    if (n > FL_WAL_RECORD_LEN_LIMIT)
        return WAL_BADLEN;
    if (size - off - WAL_REC_HEADER_SIZE < n)
        return WAL_TRUNC;
    if (fl_get_u32le(rec + 4) != fl__wal_record_crc(rec, n))
        return WAL_BADCRC;
    if (fl_get_u64le(rec + 8) != seq_want)
        return WAL_BADSEQ;
    *len = n;
    return WAL_OK;
}

/* ---- errors ---- */

/* Latches the sticky error: nothing is written after a failed write or sync. */
int fl__wal_latch(fl_wal *w, int code)
{
    FL_ASSERT(code < 0);
    if (!w->err)
        w->err = code;
    return w->err;
}

static bool fault_fires(uint32_t *countdown)
{
    if (*countdown == 0)
        return false;
    return --*countdown == 0;
}

/* ---- writing ---- */

static const char *last_name(const fl_wal *w, char out[WAL_NAME_SIZE])
{
    fl__wal_segment_name(out, w->segs[w->segs_count - 1].first_seq);
    return out;
}

/* Writes all of p at offset off into name (NULL: the last segment, named only in a message:
 * formatting names costs on the hot path). The tear hook writes a prefix and fails, as a
 * crash in the middle of the write would leave it. */
static int write_all(fl_wal *w, int fd, const uint8_t *p, size_t n, uint64_t off, const char *name)
{
    fl_wal_faults *f = w->cfg.faults;
    fl_errmsg why;
    char buf[WAL_NAME_SIZE];
    if (f && fault_fires(&f->tear_after)) {
        name = name ? name : last_name(w, buf);
        size_t keep = f->tear_keep_bytes < n ? f->tear_keep_bytes : n;
        if (keep && w->fs->ops->write(w->fs, fd, p, keep, off, &why))
            keep = 0;
        w->stats.writes++;
        w->stats.bytes += keep;
        return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO),
                             "wal: write(%s/%s at offset %" PRIu64 "): torn after %zu of %zu "
                             "bytes (injected)",
                             w->dir, name, off, keep, n);
    }
    int rc = w->fs->ops->write(w->fs, fd, p, n, off, &why);
    if (rc)
        return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO),
                             "wal: write(%s/%s at offset %" PRIu64 "): %s", w->dir,
                             name ? name : last_name(w, buf), off, why.text);
    w->stats.writes++;
    w->stats.bytes += n;
    return 0;
}

int fl__wal_sync_fd(fl_wal *w, int fd, const char *name)
{
    fl_wal_faults *f = w->cfg.faults;
    char buf[WAL_NAME_SIZE];
    if (f && fault_fires(&f->fsync_fail_after))
        return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO),
                             "wal: fdatasync(%s/%s): Input/output error (injected)", w->dir,
                             name ? name : last_name(w, buf));
    w->stats.fsyncs++;
    fl_errmsg why;
    if (w->fs->ops->sync(w->fs, fd, &why))
        return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO), "wal: fdatasync(%s/%s): %s", w->dir,
                             name ? name : last_name(w, buf), why.text);
    return 0;
}

/* Writes the buffered records to the last segment (no sync). */
static int flush(fl_wal *w)
{
    if (w->err)
        return w->err;
    if (w->pending.len == 0)
        return 0;
    int rc = write_all(w, w->fd, w->pending.data, w->pending.len, w->file_size, NULL);
    if (rc)
        return rc;
    w->file_size += w->pending.len;
    if (w->file_len < w->file_size) /* the zeros ran out: the file grew */
        w->file_len = w->file_size;
    fl_buf_reset(&w->pending);
    return 0;
}

int fl_wal_sync(fl_wal *w)
{
    int rc = flush(w);
    if (rc)
        return rc;
    if (w->synced_seq == w->next_seq - 1)
        return 0; /* nothing new */
    rc = fl__wal_sync_fd(w, w->fd, NULL);
    if (rc)
        return rc;
    w->synced_seq = w->next_seq - 1;
    return 0;
}

/* Zeros for prefill, in writes of this size (shared read-only pages: no resident cost). */
static const uint8_t zeros[64 * 1024];

int fl_wal_prefill(fl_wal *w)
{
    int rc = flush(w); /* the records first: the zeros go after them */
    if (rc)
        return rc;
    uint64_t want = w->cfg.prefill, ahead = w->file_len - w->file_size;
    if (want == 0 || ahead >= want / 2 || w->file_len >= w->cfg.segment_size_max)
        return 0;
    uint64_t end = w->file_size + want;
    if (end > w->cfg.segment_size_max)
        end = w->cfg.segment_size_max;
    FL_ASSERT(w->file_len >= w->file_size); /* zeros never over a record (invariant 2) */
    for (uint64_t off = w->file_len; off < end;) {
        size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);
        if ((rc = write_all(w, w->fd, zeros, n, off, NULL)) != 0)
            return rc;
        off += n;
        w->file_len = off;
        w->stats.prefill_bytes += n;
    }
    w->stats.prefills++;
    return 0;
}

bool fl_wal_prefill_due(const fl_wal *w)
{
    /* fl_wal_prefill's test, as it will find the segment once the buffer is written */
    uint64_t size = w->file_size + w->pending.len;
    uint64_t len = w->file_len > size ? w->file_len : size;
    return w->cfg.prefill && len - size < w->cfg.prefill / 2 && len < w->cfg.segment_size_max;
}

int fl__wal_sync_dir(fl_wal *w)
{
    fl_errmsg why;
    if (w->fs->ops->sync_dir(w->fs, &why))
        return fl_errmsg_set(&w->msg, FL_EIO, "wal: fsync(directory %s): %s", w->dir, why.text);
    return 0;
}

int fl__wal_segs_push(fl_wal *w, uint64_t segno, uint64_t first_seq)
{
    if (w->segs_count == w->segs_cap) {
        size_t cap = w->segs_cap ? w->segs_cap * 2 : 16;
        fl_wal_segment *s = realloc(w->segs, cap * sizeof(*s));
        if (!s)
            return fl_errmsg_set(&w->msg, FL_ENOMEM, "wal: out of memory");
        w->segs = s;
        w->segs_cap = cap;
    }
    w->segs[w->segs_count++] = (fl_wal_segment){.first_seq = first_seq, .segno = segno};
    return 0;
}

/* Creates a complete empty segment: header into NAME.tmp, sync, rename, sync directory.
 * On success *fd_out is open for writing and the segment is in w->segs. */
int fl__wal_create_segment(fl_wal *w, uint64_t segno, uint64_t first_seq, int *fd_out)
{
    char name[WAL_NAME_SIZE], tmp[WAL_NAME_SIZE];
    if (w->segs_count == w->cfg.segments_max)
        return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EFULL),
                             "wal: %zu segments in %s (segments_max)", w->segs_count, w->dir);
    fl__wal_segment_name(name, first_seq);
    snprintf(tmp, sizeof(tmp), WAL_NAME_PREFIX "%020" PRIu64 WAL_NAME_SUFFIX ".tmp", first_seq);
    const fl_fs_ops *o = w->fs->ops;
    fl_errmsg why;
    int fd;
    if (o->open(w->fs, tmp, FL_FS_WRITE | FL_FS_CREATE | FL_FS_TRUNC, &fd, &why))
        return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO), "wal: create %s/%s: %s", w->dir,
                             tmp, why.text);
    uint8_t hdr[WAL_HEADER_SIZE];
    fl__wal_encode_header(hdr, segno, first_seq);
    int rc = write_all(w, fd, hdr, sizeof(hdr), 0, tmp);
    if (!rc)
        rc = fl__wal_sync_fd(w, fd, tmp);
    if (!rc && o->rename(w->fs, tmp, name, &why))
        rc = fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO), "wal: rename %s/%s: %s", w->dir, tmp,
                           why.text);
    if (!rc && fl__wal_sync_dir(w))
        rc = fl__wal_latch(w, FL_EIO);
    if (!rc)
        rc = fl__wal_segs_push(w, segno, first_seq);
    if (rc) {
        o->close(w->fs, fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

/* Makes the last segment durable, then starts a new one whose first record is next_seq. */
static int rotate(fl_wal *w)
{
    int rc = fl_wal_sync(w);
    if (rc)
        return rc;
    int fd;
    rc = fl__wal_create_segment(w, w->segs[w->segs_count - 1].segno + 1, w->next_seq, &fd);
    if (rc)
        return fl__wal_latch(w, rc);
    w->fs->ops->close(w->fs, w->fd);
    w->fd = fd;
    w->file_size = w->file_len = WAL_HEADER_SIZE;
    w->stats.rotations++;
    return 0;
}

static void encode_record(fl_wal *w, uint8_t *rec, const void *data, uint32_t len, uint64_t seq)
{
    fl_put_u32le(rec, len);
    fl_put_u64le(rec + 8, seq);
    if (len)
        memcpy(rec + WAL_REC_HEADER_SIZE, data, len);
    fl_put_u32le(rec + 4, fl__wal_record_crc(rec, len));
    fl_wal_faults *f = w->cfg.faults;
    if (f && f->corrupt_seq == seq) {
        f->corrupt_seq = 0;
        rec[f->corrupt_offset % (WAL_REC_HEADER_SIZE + len)] ^= 0x20;
    }
}

int fl_wal_append(fl_wal *w, const void *data, size_t len, uint64_t *seq)
{
    if (w->err)
        return w->err;
    if (len > w->cfg.record_size_max)
        return fl_errmsg_set(&w->msg, FL_ETOOBIG, "wal: record of %zu bytes (record_size_max %u)",
                             len, w->cfg.record_size_max);
    size_t size = WAL_REC_HEADER_SIZE + len;
    uint64_t seg_used = w->file_size + w->pending.len;
    if (seg_used > WAL_HEADER_SIZE && seg_used + size > w->cfg.segment_size_max) {
        int rc = rotate(w);
        if (rc)
            return rc;
    }
    if (w->pending.len && w->pending.len + size > w->cfg.buffer_size_max) {
        int rc = flush(w);
        if (rc)
            return rc;
    }
    uint8_t *rec = fl_buf_extend(&w->pending, size);
    if (!rec) {
        /* the buffer latched its error but kept its content: the records already in it were
         * appended and must stay; only this one is refused (not sticky) */
        w->pending.err = 0;
        return fl_errmsg_set(&w->msg, FL_ENOMEM, "wal: out of memory buffering a record");
    }
    encode_record(w, rec, data, (uint32_t)len, w->next_seq);
    if (seq)
        *seq = w->next_seq;
    w->next_seq++;
    w->stats.appends++;
    return 0;
}

int fl_wal_delete_before(fl_wal *w, uint64_t seq, size_t *deleted)
{
    size_t n = 0;
    int rc = 0;
    if (deleted)
        *deleted = 0;
    if (w->err)
        return w->err;
    /* oldest first, so a crash in between leaves a contiguous log */
    while (n + 1 < w->segs_count && w->segs[n + 1].first_seq <= seq) {
        char name[WAL_NAME_SIZE];
        fl__wal_segment_name(name, w->segs[n].first_seq);
        fl_errmsg why;
        int u = w->fs->ops->unlink(w->fs, name, &why);
        if (u && u != FL_ENOTFOUND) {
            rc = fl_errmsg_set(&w->msg, FL_EIO, "wal: unlink %s/%s: %s", w->dir, name, why.text);
            break;
        }
        n++;
    }
    memmove(w->segs, w->segs + n, (w->segs_count - n) * sizeof(*w->segs));
    w->segs_count -= n;
    if (deleted)
        *deleted = n;
    if (n && fl__wal_sync_dir(w) && !rc)
        rc = FL_EIO;
    return rc;
}

int fl_wal_restart_at(fl_wal *w, uint64_t next_seq)
{
    FL_ASSERT(next_seq > fl_wal_last_seq(w) && w->pending.len == 0);
    if (w->err)
        return w->err;
    /* oldest first: a crash in between leaves a contiguous log that is still behind next_seq,
     * and the caller's next open restarts it again */
    w->fs->ops->close(w->fs, w->fd);
    w->fd = -1;
    for (size_t i = 0; i < w->segs_count; i++) {
        char name[WAL_NAME_SIZE];
        fl__wal_segment_name(name, w->segs[i].first_seq);
        fl_errmsg why;
        int u = w->fs->ops->unlink(w->fs, name, &why);
        if (u && u != FL_ENOTFOUND)
            return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO), "wal: unlink %s/%s: %s", w->dir,
                                 name, why.text);
    }
    if (fl__wal_sync_dir(w))
        return fl__wal_latch(w, FL_EIO);
    w->segs_count = 0;
    int rc = fl__wal_create_segment(w, 1, next_seq, &w->fd);
    if (rc)
        return rc;
    w->file_size = w->file_len = WAL_HEADER_SIZE;
    w->next_seq = next_seq;
    w->synced_seq = next_seq - 1;
    return 0;
}

uint64_t fl_wal_first_seq(const fl_wal *w)
{
    return w->segs_count ? w->segs[0].first_seq : w->next_seq;
}

uint64_t fl_wal_last_seq(const fl_wal *w)
{
    return w->next_seq - 1;
}

uint64_t fl_wal_synced_seq(const fl_wal *w)
{
    return w->synced_seq;
}

const char *fl_wal_errmsg(const fl_wal *w)
{
    return w->msg.text;
}

int fl__wal_flush(fl_wal *w)
{
    return flush(w);
}

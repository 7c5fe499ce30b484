/* wal_recover.c: opening a WAL directory: finding segments, verifying every record,
 * truncating a torn tail, refusing anything else; and iterating recovered records (wal.h,
 * format in wal.c).
 *
 * Recovery rules (docs/wal.md):
 *  1. Segments sort by the first seq in their names; their headers must be valid, agree with
 *     the name, and continue the previous segment (segment number + 1, first seq = last + 1).
 *     Segment numbers that skip (a segment missing) mean a deletion a crash interrupted: the
 *     segments below the missing one are set aside, left out of the log, and deleted when
 *     the caller, having checked its log still starts early enough, asks (set_aside says why
 *     that is safe, fl_wal_finish_deletes does it).
 *  2. Every record must be whole, its CRC32C must match and its seq must be the next one.
 *  3. A failing record in the LAST segment with no valid record anywhere after it is a torn
 *     write: the file is truncated at its offset (and fdatasync'ed). A record that fails
 *     anywhere else, or that is followed by a valid record, or has a valid checksum but the
 *     wrong seq, is corruption: open fails with the file and byte offset in the message.
 *     Refusing is the safe side: synced data may be behind the damage.
 *  4. A failing record with only zero bytes from its offset to the end of the file, in any
 *     segment, is the end of the segment's records: the zeros are preallocated space (wal.c,
 *     ZERO TAIL), kept as they are. Rule 3 applies when anything after it is nonzero.
 * Reading uses whole-file views (read-only mappings of real files), so recovery allocates
 * nothing per record. Every file operation goes through the file interface (fs.h). */
#include "wal_format.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/fs_posix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUTANT(w, m) (((w)->cfg.mutants & FL_WAL_MUTANT_##m) != 0)

static int config_defaults(fl_wal *w, const fl_wal_config *in)
{
    fl_wal_config *c = &w->cfg;
    *c = in ? *in : (fl_wal_config){0};
    if (!c->segment_size_max)
        c->segment_size_max = (uint64_t)64 << 20;
    if (!c->record_size_max)
        c->record_size_max = (uint32_t)4 << 20;
    if (!c->buffer_size_max)
        c->buffer_size_max = (size_t)1 << 20;
    if (!c->segments_max)
        c->segments_max = (size_t)1 << 16;
    if (c->record_size_max > FL_WAL_RECORD_LEN_LIMIT)
        return fl_errmsg_set(&w->msg, FL_ECONFIG, "wal: record_size_max %u above the limit %u",
                             c->record_size_max, FL_WAL_RECORD_LEN_LIMIT);
    if (c->segment_size_max < WAL_HEADER_SIZE + WAL_REC_HEADER_SIZE)
        return fl_errmsg_set(&w->msg, FL_ECONFIG, "wal: segment_size_max %" PRIu64 " too small",
                             c->segment_size_max);
    return 0;
}

/* "wal-" 20 digits ".seg" -> first seq. */
static bool parse_name(const char *s, uint64_t *first_seq)
{
    if (strlen(s) != WAL_NAME_LEN || strncmp(s, WAL_NAME_PREFIX, 4) != 0 ||
        strcmp(s + 4 + WAL_NAME_DIGITS, WAL_NAME_SUFFIX) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < WAL_NAME_DIGITS; i++) {
        char c = s[4 + i];
        if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(c - '0');
    }
    *first_seq = v;
    return true;
}

static bool is_tmp_name(const char *s)
{
    size_t n = strlen(s);
    return n == WAL_NAME_LEN + 4 && strncmp(s, WAL_NAME_PREFIX, 4) == 0 &&
           strcmp(s + n - 8, WAL_NAME_SUFFIX ".tmp") == 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const fl_wal_segment *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

typedef struct listing {
    fl_wal *w;
    int rc;
    char (*tmps)[WAL_NAME_SIZE]; /* unfinished segments, deleted after the listing */
    size_t n_tmps, cap_tmps;
} listing;

static int list_one(void *arg, const char *name)
{
    listing *l = arg;
    uint64_t first_seq;
    if (parse_name(name, &first_seq))
        return fl__wal_segs_push(l->w, 0, first_seq);
    if (!is_tmp_name(name))
        return 0;
    if (l->n_tmps == l->cap_tmps) {
        size_t cap = l->cap_tmps ? l->cap_tmps * 2 : 4;
        void *p = realloc(l->tmps, cap * sizeof(*l->tmps));
        if (!p)
            return fl_errmsg_set(&l->w->msg, FL_ENOMEM, "wal: out of memory");
        l->tmps = p;
        l->cap_tmps = cap;
    }
    snprintf(l->tmps[l->n_tmps++], WAL_NAME_SIZE, "%s", name);
    return 0;
}

/* Fills w->segs (segno 0 until verified), sorted; deletes unfinished *.seg.tmp files. */
static int list_segments(fl_wal *w)
{
    listing l = {.w = w};
    fl_errmsg why;
    int rc = w->fs->ops->list(w->fs, list_one, &l, &why);
    if (rc && rc != FL_ENOMEM)
        rc = fl_errmsg_set(&w->msg, FL_EIO, "wal: list %s: %s", w->dir, why.text);
    for (size_t i = 0; !rc && i < l.n_tmps; i++) {
        int u = w->fs->ops->unlink(w->fs, l.tmps[i], &why);
        if (u && u != FL_ENOTFOUND)
            rc = fl_errmsg_set(&w->msg, FL_EIO, "wal: unlink %s/%s: %s", w->dir, l.tmps[i],
                               why.text);
    }
    free(l.tmps);
    if (!rc && w->segs_count > w->cfg.segments_max)
        rc = fl_errmsg_set(&w->msg, FL_EFULL, "wal: %zu segments in %s (segments_max)",
                           w->segs_count, w->dir);
    if (!rc && w->segs_count > 1)
        qsort(w->segs, w->segs_count, sizeof(*w->segs), cmp_seg);
    return rc;
}

typedef struct seg_map {
    char name[WAL_NAME_SIZE];
    const uint8_t *p;
    size_t size;
    fl_fs_view view;
} seg_map;

static int map_segment(fl_wal *w, uint64_t first_seq, seg_map *m)
{
    fl__wal_segment_name(m->name, first_seq);
    fl_errmsg why;
    int rc = w->fs->ops->read_all(w->fs, m->name, &m->view, &why);
    m->p = m->view.data;
    m->size = m->view.len;
    if (rc)
        return fl_errmsg_set(&w->msg, rc == FL_ENOTFOUND ? FL_EIO : rc, "wal: read %s/%s: %s",
                             w->dir, m->name, why.text);
    return 0;
}

static void unmap_segment(fl_wal *w, seg_map *m)
{
    w->fs->ops->release(w->fs, &m->view);
    m->p = NULL;
    m->size = 0;
}

/* check_header's answer when segment numbers skip: a segment before this one is missing */
#define SEG_MISSING 1

/* Verifies segment i's header against its name and the previous segment: 0, an FL_E code (w->msg
 * says why), or SEG_MISSING. */
static int check_header(fl_wal *w, size_t i, const seg_map *m, uint64_t expected_seq)
{
    uint64_t segno = 0, first_seq = 0;
    uint16_t version = 0;
    int chk = fl__wal_check_header(m->p, m->size, &segno, &first_seq, &version);
    if (chk != WAL_OK)
        return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                             "wal: %s/%s: bad segment header at byte offset 0: %s", w->dir, m->name,
                             fl__wal_check_text(chk));
    if (version < WAL_VERSION_MIN || version > WAL_VERSION)
        return fl_errmsg_set(&w->msg, FL_EVERSION,
                             "wal: %s/%s: format version %u, expected %u to %u", w->dir, m->name,
                             version, WAL_VERSION_MIN, WAL_VERSION);
    if (first_seq == 0) /* seqs start at 1: 0 would make "last = first - 1" wrap */
        return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                             "wal: %s/%s: header at byte offset 0 says first seq 0", w->dir,
                             m->name);
    if (first_seq != w->segs[i].first_seq)
        return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                             "wal: %s/%s: header at byte offset 0 says first seq %" PRIu64, w->dir,
                             m->name, first_seq);
    if (i > 0 && segno > w->segs[i - 1].segno + 1)
        return SEG_MISSING; /* recover: finish_delete */
    if (i > 0 && segno != w->segs[i - 1].segno + 1)
        return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                             "wal: %s/%s: segment number %" PRIu64 " does not follow %" PRIu64
                             " (out of order)",
                             w->dir, m->name, segno, w->segs[i - 1].segno);
    if (i > 0 && first_seq != expected_seq)
        return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                             "wal: %s/%s: first seq %" PRIu64 ", but the previous segment "
                             "ends before seq %" PRIu64,
                             w->dir, m->name, first_seq, expected_seq);
    w->segs[i].segno = segno;
    return 0;
}

/* Looks for any valid record after a failure at off (candidates must carry a seq that could
 * follow): finding one proves the damage is not a torn tail. O(size) header checks; CRCs
 * only for plausible candidates. Returns its offset, or 0. */
static size_t find_valid_after(const seg_map *m, size_t off, uint64_t expected_seq)
{
    uint64_t seq_hi = expected_seq + (m->size - off) / WAL_REC_HEADER_SIZE;
    for (size_t q = off + 1; q + WAL_REC_HEADER_SIZE <= m->size; q++) {
        uint64_t seq = fl_get_u64le(m->p + q + 8);
        if (seq < expected_seq || seq > seq_hi)
            continue;
        uint32_t len;
        if (fl__wal_check_record(m->p, m->size, q, seq, &len) == WAL_OK)
            return q;
    }
    return 0;
}

static int truncate_tail(fl_wal *w, const seg_map *m, size_t off)
{
    const fl_fs_ops *o = w->fs->ops;
    fl_errmsg why;
    int fd;
    if (o->open(w->fs, m->name, FL_FS_WRITE, &fd, &why))
        return fl_errmsg_set(&w->msg, FL_EIO, "wal: open %s/%s: %s", w->dir, m->name, why.text);
    int rc = 0;
    if (o->truncate(w->fs, fd, off, &why))
        rc = fl_errmsg_set(&w->msg, FL_EIO, "wal: truncate %s/%s to %zu: %s", w->dir, m->name, off,
                           why.text);
    else
        rc = fl__wal_sync_fd(w, fd, m->name);
    o->close(w->fs, fd);
    w->stats.truncated_bytes += m->size - off;
    return rc;
}

/* Whether every byte from off to the end of the segment is zero (off < size). */
static bool zero_tail(const fl_wal *w, const seg_map *m, size_t off)
{
    size_t to = m->size;
    if (MUTANT(w, ZERO_HEADER_ENDS) && m->size - off > WAL_REC_HEADER_SIZE)
        to = off + WAL_REC_HEADER_SIZE;
    for (size_t q = off; q < to; q++)
        if (m->p[q])
            return false;
    return true;
}

/* A record failed check chk at off: truncate (torn tail of the last segment) or refuse. */
static int record_failed(fl_wal *w, const seg_map *m, bool last, size_t off, uint64_t seq, int chk)
{
    size_t valid = 0;
    if (last && chk != WAL_BADSEQ) {
        valid = find_valid_after(m, off, seq);
        if (!valid)
            return truncate_tail(w, m, off);
    }
    if (valid)
        return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                             "wal: %s/%s: record seq %" PRIu64 " at byte offset %zu: %s, "
                             "followed by a valid record at byte offset %zu (not a torn write)",
                             w->dir, m->name, seq, off, fl__wal_check_text(chk), valid);
    return fl_errmsg_set(
        &w->msg, FL_ECORRUPT, "wal: %s/%s: record seq %" PRIu64 " at byte offset %zu: %s%s", w->dir,
        m->name, seq, off, fl__wal_check_text(chk), last ? "" : " (not in the last segment)");
}

/* Verifies segment i; *seq is the seq its first record must have, and on return the seq
 * after its last record. *end gets the offset after the last valid record. */
static int recover_segment(fl_wal *w, size_t i, uint64_t *seq, uint64_t *end)
{
    seg_map m;
    int rc = map_segment(w, w->segs[i].first_seq, &m);
    if (!rc)
        rc = check_header(w, i, &m, *seq);
    if (rc) {
        unmap_segment(w, &m);
        return rc;
    }
    bool last = i + 1 == w->segs_count;
    *seq = w->segs[i].first_seq;
    size_t off = WAL_HEADER_SIZE, len_after = 0; /* the file's length once recovered */
    while (off < m.size) {
        uint32_t len = 0;
        int chk = fl__wal_check_record(m.p, m.size, off, *seq, &len);
        if (chk != WAL_OK && zero_tail(w, &m, off)) { /* preallocated space: the end (rule 4) */
            len_after = m.size;
            break;
        }
        if (chk != WAL_OK) {
            rc = record_failed(w, &m, last, off, *seq, chk);
            break;
        }
        off += WAL_REC_HEADER_SIZE + len;
        (*seq)++;
        w->stats.recovered_records++;
    }
    *end = off;
    w->file_len = len_after > off ? len_after : off;
    unmap_segment(w, &m);
    return rc;
}

/* Opens the recovered last segment for appending at end and makes its content durable. */
static int open_last(fl_wal *w, uint64_t end)
{
    char name[WAL_NAME_SIZE];
    fl__wal_segment_name(name, w->segs[w->segs_count - 1].first_seq);
    fl_errmsg why;
    if (w->fs->ops->open(w->fs, name, FL_FS_WRITE, &w->fd, &why)) {
        w->fd = -1;
        return fl_errmsg_set(&w->msg, FL_EIO, "wal: open %s/%s: %s", w->dir, name, why.text);
    }
    w->file_size = end;
    /* what a crashed process left in the page cache is not known to be on disk yet */
    return fl__wal_sync_fd(w, w->fd, name);
}

/* Segments [0, i) precede a missing one: a deletion a crash interrupted. Only
 * fl_wal_delete_before and fl_wal_restart_at unlink segments (a segment's name is durable
 * before it holds a record: rotate syncs the directory), both a prefix of them and then sync
 * the directory, and until that sync a crash may keep any subset of the unlinks (fs.h rule 3;
 * file systems that reorder directory operations do): a later segment of the prefix gone, an
 * earlier one still there. So every segment before the last missing one was being deleted:
 * the log starts after the gap. They are not deleted here: whether the caller still needed
 * them is the caller's to know (raft_store.c's wal_from refuses a WAL that starts after the
 * record its snapshot file replays from), and a refusal must leave the directory as it found
 * it, for whoever looks into why. A set-aside segment never joins the log again: later
 * segments only grow from above the gap. */
static int set_aside(fl_wal *w, size_t i)
{
    uint64_t *p = realloc(w->set_aside, (w->set_aside_count + i) * sizeof(*p));
    if (!p)
        return fl_errmsg_set(&w->msg, FL_ENOMEM, "wal: out of memory");
    w->set_aside = p;
    for (size_t k = 0; k < i; k++)
        p[w->set_aside_count++] = w->segs[k].first_seq;
    memmove(w->segs, w->segs + i, (w->segs_count - i) * sizeof(*w->segs));
    w->segs_count -= i;
    return 0;
}

int fl_wal_finish_deletes(fl_wal *w)
{
    if (w->err)
        return w->err;
    for (size_t k = 0; k < w->set_aside_count; k++) {
        char name[WAL_NAME_SIZE];
        fl__wal_segment_name(name, w->set_aside[k]);
        fl_errmsg why;
        int u = w->fs->ops->unlink(w->fs, name, &why);
        if (u && u != FL_ENOTFOUND)
            return fl_errmsg_set(&w->msg, fl__wal_latch(w, FL_EIO), "wal: unlink %s/%s: %s", w->dir,
                                 name, why.text);
    }
    if (w->set_aside_count && fl__wal_sync_dir(w))
        return fl__wal_latch(w, FL_EIO);
    w->stats.unfinished_deletes += w->set_aside_count;
    free(w->set_aside);
    w->set_aside = NULL;
    w->set_aside_count = 0;
    return 0;
}

static int recover(fl_wal *w)
{
    int rc = list_segments(w);
    if (rc)
        return rc;
    if (w->segs_count == 0) {
        w->next_seq = 1;
        rc = fl__wal_create_segment(w, 1, 1, &w->fd);
        w->file_size = w->file_len = WAL_HEADER_SIZE;
        return rc;
    }
    uint64_t seq = w->segs[0].first_seq, end = 0;
    for (size_t i = 0; i < w->segs_count && !rc; i++) {
        rc = recover_segment(w, i, &seq, &end);
        if (rc == SEG_MISSING && (rc = set_aside(w, i)) == 0) {
            seq = w->segs[0].first_seq; /* verified again, now the first */
            w->stats.recovered_records = 0;
            i = (size_t)-1;
        }
    }
    if (rc)
        return rc;
    w->next_seq = seq;
    w->synced_seq = seq - 1;
    return open_last(w, end);
}

int fl_wal_open_fs(fl_wal *w, fl_fs *fs, const fl_wal_config *cfg)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->fs = fs;
    snprintf(w->dir, sizeof(w->dir), "%s", fs->where);
    fl_buf_init(&w->pending);
    int rc = config_defaults(w, cfg);
    if (!rc)
        rc = recover(w);
    if (rc) {
        fl_errmsg saved = w->msg;
        fl_wal_close(w);
        w->msg = saved;
        w->err = rc;
        return rc;
    }
    w->err = 0;
    return 0;
}

int fl_wal_open(fl_wal *w, const char *dir, const fl_wal_config *cfg)
{
    fl_fs_posix *own = calloc(1, sizeof(*own));
    fl_errmsg m;
    int rc = own ? fl_fs_posix_open(own, dir, FL_FS_POSIX_LOCK | FL_FS_POSIX_MKDIR, &m)
                 : fl_errmsg_set(&m, FL_ENOMEM, "out of memory");
    if (rc) {
        free(own);
        memset(w, 0, sizeof(*w));
        w->fd = -1;
        fl_errmsg_set(&w->msg, rc, "wal: %s", m.text);
        w->err = rc;
        return rc;
    }
    rc = fl_wal_open_fs(w, &own->fs, cfg);
    if (rc) {
        fl_fs_posix_close(own);
        free(own);
        return rc;
    }
    w->own_fs = own;
    return 0;
}

void fl_wal_close(fl_wal *w)
{
    if (w->fd >= 0 && w->fs)
        w->fs->ops->close(w->fs, w->fd);
    w->fd = -1;
    free(w->segs);
    w->segs = NULL;
    w->segs_count = 0;
    w->segs_cap = 0;
    free(w->set_aside);
    w->set_aside = NULL;
    w->set_aside_count = 0;
    fl_buf_free(&w->pending);
    if (w->own_fs) {
        fl_fs_posix_close(w->own_fs);
        free(w->own_fs);
        w->own_fs = NULL;
    }
}

/* ---- iteration ---- */

static int iter_map(fl_wal_iter *it)
{
    seg_map m;
    int rc = map_segment(it->w, it->w->segs[it->seg].first_seq, &m);
    if (rc)
        return rc;
    it->view = m.view;
    it->map = m.p;
    it->map_len = m.size;
    it->off = WAL_HEADER_SIZE;
    it->next_seq = it->w->segs[it->seg].first_seq;
    return 0;
}

static void iter_unmap(fl_wal_iter *it)
{
    if (it->w && it->w->fs)
        it->w->fs->ops->release(it->w->fs, &it->view);
    it->map = NULL;
    it->map_len = 0;
}

int fl_wal_iter_init(fl_wal *w, fl_wal_iter *it, uint64_t from_seq)
{
    memset(it, 0, sizeof(*it));
    it->w = w;
    int rc = fl__wal_flush(w);
    if (rc)
        return rc;
    FL_ASSERT(w->segs_count > 0);
    it->from_seq = from_seq;
    it->last_seq = w->next_seq - 1;
    while (it->seg + 1 < w->segs_count && w->segs[it->seg + 1].first_seq <= from_seq)
        it->seg++;
    return iter_map(it);
}

int fl_wal_iter_next(fl_wal_iter *it, fl_wal_record *rec)
{
    fl_wal *w = it->w;
    if (w->err)
        return w->err; /* sticky, like every other call */
    for (;;) {
        if (it->next_seq > it->last_seq)
            return 0;
        if (it->seg + 1 < w->segs_count && it->next_seq == w->segs[it->seg + 1].first_seq) {
            iter_unmap(it);
            it->seg++;
            int rc = iter_map(it);
            if (rc)
                return rc;
        }
        uint32_t len = 0;
        int chk = fl__wal_check_record(it->map, it->map_len, it->off, it->next_seq, &len);
        if (chk != WAL_OK) {
            char name[WAL_NAME_SIZE];
            fl__wal_segment_name(name, w->segs[it->seg].first_seq);
            return fl_errmsg_set(&w->msg, FL_ECORRUPT,
                                 "wal: %s/%s: record seq %" PRIu64 " at byte offset %zu: %s "
                                 "(changed since open)",
                                 w->dir, name, it->next_seq, it->off, fl__wal_check_text(chk));
        }
        rec->seq = it->next_seq;
        rec->data = it->map + it->off + WAL_REC_HEADER_SIZE;
        rec->len = len;
        it->off += WAL_REC_HEADER_SIZE + len;
        it->next_seq++;
        if (rec->seq >= it->from_seq)
            return 1;
    }
}

void fl_wal_iter_close(fl_wal_iter *it)
{
    iter_unmap(it);
}

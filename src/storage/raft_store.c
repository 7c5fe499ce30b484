/* raft_store.c: a consensus core's hard state and log as WAL records, and their replay
 * (raft_store.h), for Raft or Paxos. One WAL record per persist request, in the form of
 * raft_record.h (the format, byte by byte, is at the top of src/wire/raft_record.c). Replay
 * applies records in order. Invariant: first_index <= first + recovered count (a request never
 * leaves a hole); a record breaking it, or not decoding exactly, is corruption. A record or
 * snapshot file of the other protocol is refused (FL_EVERSION): a data directory belongs to
 * the protocol that wrote it.
 *
 * The snapshot file, little-endian:
 *
 *     crc32c u32 (over everything after it), version u8 (1), wal_seq u64 (the first WAL
 *     record not reflected in this file), then a raft_record.h snapshot checkpoint (kind 2
 *     for Raft, 4 for Paxos: hard state, snapshot metadata and bytes, the log after the
 *     snapshot). */
#include "faultline/raft_store.h"

#include "faultline/raft_record.h"

#include "faultline/assert.h"
#include "faultline/atomic_file.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/fs_posix.h"
#include "faultline/raft.h" /* the store's mutant bit */

#define MUTANT(s, m) (((s)->mutants & FL_RAFT_MUTANT_##m) != 0)
#define SNAP_FILE    "snapshot"
#define SNAP_VERSION 1
#define SNAP_HEADER  13              /* crc, version, wal_seq */
#define SNAP_NEXT    "snapshot.next" /* a queued one's file before its rename */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void drop_from(fl_raft_store *s, size_t count)
{
    for (size_t i = count; i < s->count; i++)
        free((void *)s->entries[i].data);
    if (count < s->count)
        s->count = count;
}

static int push_entry(fl_raft_store *s, const fl_cons_entry *in)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        fl_cons_entry *e = realloc(s->entries, cap * sizeof(*e));
        if (!e)
            return FL_ENOMEM;
        s->entries = e;
        s->cap = cap;
    }
    uint8_t *copy = malloc(in->len ? in->len : 1);
    if (!copy)
        return FL_ENOMEM;
    memcpy(copy, in->data, in->len);
    fl_cons_entry e = *in;
    e.data = copy;
    s->entries[s->count++] = e;
    return 0;
}

static int other_protocol(fl_raft_store *s, fl_errmsg *m, const char *what, fl_cons_protocol p)
{
    return fl_errmsg_set(m, FL_EVERSION,
                         "%s was written by a %s node; this node runs %s (a data directory "
                         "belongs to the protocol that wrote it)",
                         what, fl_cons_protocol_name(p), fl_cons_protocol_name(s->protocol));
}

static int replay(fl_raft_store *s, const fl_wal_record *rec, fl_errmsg *m)
{
    fl_raft_record r;
    /* the WAL holds persist requests only (kind 1); checkpoints live in the snapshot file */
    if (fl_raft_record_decode(rec->data, rec->len, &r) || r.kind != 1 ||
        r.first_index > s->first + s->count)
        return fl_errmsg_set(m, FL_ECORRUPT, "WAL record %llu: bad %s record header",
                             (unsigned long long)rec->seq, fl_cons_protocol_name(r.protocol));
    if (r.protocol != s->protocol) {
        char what[64];
        snprintf(what, sizeof(what), "WAL record %llu", (unsigned long long)rec->seq);
        return other_protocol(s, m, what, r.protocol);
    }
    if (r.hard_state) {
        s->term = r.term;
        s->vote = r.vote;
    }
    fl_index cut = r.first_index;
    uint64_t skip = 0; /* entries at or before the snapshot's index: the snapshot has them */
    if (cut < s->first) {
        skip = s->first - cut;
        cut = s->first;
    }
    drop_from(s, (size_t)(cut - s->first));
    fl_cons_entry e;
    int rc;
    while ((rc = fl_raft_record_next(&r, &e)) == 1) {
        if (skip) {
            skip--;
            continue;
        }
        rc = push_entry(s, &e);
        if (rc)
            break;
    }
    if (rc)
        return fl_errmsg_set(m, rc, "WAL record %llu: entry %u: %s", (unsigned long long)rec->seq,
                             r.read, fl_strerror(rc));
    s->records_replayed++;
    return 0;
}

static int snap_corrupt(fl_raft_store *s, fl_errmsg *m, const char *why)
{
    return fl_errmsg_set(m, FL_ECORRUPT, "snapshot file %s/" SNAP_FILE ": %s", s->wal.dir, why);
}

/* Reads the snapshot file, if there is one: hard state, snapshot and the log after it.
 * *from_seq gets the first WAL record to replay. */
static int load_snapshot(fl_raft_store *s, uint64_t *from_seq, fl_errmsg *m)
{
    fl_buf f;
    fl_buf_init(&f);
    *from_seq = 1;
    int rc = fl_fs_read_file(s->fs, SNAP_FILE, FL_RAFT_STORE_SNAPSHOT_MAX, &f, m);
    if (rc == FL_ENOTFOUND) {
        if (m)
            m->text[0] = 0;
        return 0;
    }
    fl_raft_record r;
    if (rc == 0 &&
        (f.len < SNAP_HEADER || fl_get_u32le(f.data) != fl_crc32c(0, f.data + 4, f.len - 4)))
        rc = snap_corrupt(s, m, "checksum mismatch or truncated");
    else if (rc == 0 && f.data[4] != SNAP_VERSION)
        rc = snap_corrupt(s, m, "unknown version");
    else if (rc == 0 &&
             (fl_raft_record_decode(f.data + SNAP_HEADER, f.len - SNAP_HEADER, &r) || r.kind != 2))
        rc = snap_corrupt(s, m, "not a snapshot checkpoint");
    else if (rc == 0 && r.protocol != s->protocol)
        rc = other_protocol(s, m, "the snapshot file", r.protocol);
    if (rc == 0) {
        *from_seq = fl_get_u64le(f.data + 5);
        s->term = r.term;
        s->vote = r.vote;
        s->snap = r.snap;
        s->first = r.first_index;
        fl_buf_put_bytes(&s->snap_data, r.snap_data, (size_t)r.snap.size);
        rc = s->snap_data.err;
        fl_cons_entry e;
        while (rc == 0 && (rc = fl_raft_record_next(&r, &e)) == 1)
            rc = push_entry(s, &e);
        if (rc)
            rc = snap_corrupt(s, m, "its log does not decode");
    }
    fl_buf_free(&f);
    return rc;
}

/* The WAL must hold every record from from_seq on, and never hand out a seq below it again.
 * The snapshot file names the first record it does not reflect, counting records appended
 * but not yet synced (those staged behind a running sync included); a crash may lose them,
 * leaving the WAL's end below from_seq. Everything it holds is then in the snapshot file: it
 * restarts at from_seq, or records written later would get numbers replay skips. Segments the
 * WAL set aside below a missing one (a compaction a crash interrupted) are deleted once the
 * log is known to reach back far enough, and before a restart: the restarted log's first
 * segment number (1) would not follow theirs at the next open. On a refusal every file stays
 * as it was. */
static int wal_from(fl_raft_store *s, uint64_t from_seq, fl_errmsg *m)
{
    fl_wal *w = &s->wal;
    if (fl_wal_first_seq(w) > from_seq)
        return fl_errmsg_set(m, FL_ECORRUPT,
                             "WAL %s: the snapshot file replays from record %llu, the WAL starts "
                             "at %llu (segments are missing)",
                             w->dir, (unsigned long long)from_seq,
                             (unsigned long long)fl_wal_first_seq(w));
    int rc = fl_wal_finish_deletes(w);
    if (!rc && (fl_wal_last_seq(w) + 1 >= from_seq || MUTANT(s, SNAPSHOT_SEQ_UNSYNCED)))
        return 0;
    if (!rc)
        rc = fl_wal_restart_at(w, from_seq);
    if (rc)
        fl_errmsg_set(m, rc, "%s", fl_wal_errmsg(w));
    return rc;
}

static int replay_all(fl_raft_store *s, fl_errmsg *m)
{
    uint64_t from_seq;
    int rc = load_snapshot(s, &from_seq, m);
    if (!rc)
        rc = wal_from(s, from_seq, m);
    if (rc)
        return rc;
    fl_wal_iter it;
    rc = fl_wal_iter_init(&s->wal, &it, from_seq);
    if (rc)
        return fl_errmsg_set(m, rc, "WAL replay: %s", fl_wal_errmsg(&s->wal));
    fl_wal_record rec;
    while ((rc = fl_wal_iter_next(&it, &rec)) == 1) {
        rc = replay(s, &rec, m);
        if (rc)
            break;
    }
    fl_wal_iter_close(&it);
    if (rc < 0 && m && !m->text[0])
        fl_errmsg_set(m, rc, "WAL replay: %s", fl_wal_errmsg(&s->wal));
    return rc < 0 ? rc : 0;
}

int fl_raft_store_open_fs(fl_raft_store *s, fl_fs *fs, const fl_raft_store_opts *o, fl_errmsg *m)
{
    memset(s, 0, sizeof(*s));
    s->fs = fs;
    s->first = 1;
    s->mutants = o ? o->mutants : 0;
    s->protocol = o ? o->protocol : FL_CONS_RAFT;
    fl_buf_init(&s->scratch);
    fl_buf_init(&s->staged);
    fl_buf_init(&s->snap_data);
    fl_buf_init(&s->snap_next);
    fl_buf_init(&s->job_snap);
    fl_buf_init(&s->snap_next_tail);
    fl_buf_init(&s->job_snap_tail);
    fl_wal_config cfg = {.record_size_max = FL_WAL_RECORD_LEN_LIMIT,
                         .segment_size_max = o ? o->segment_size_max : 0,
                         .prefill = o && o->wal_prefill ? o->wal_prefill : FL_RAFT_STORE_PREFILL,
                         .faults = o ? (fl_wal_faults *)o->faults : NULL};
    int rc = fl_wal_open_fs(&s->wal, fs, &cfg);
    if (rc) {
        fl_errmsg_set(m, rc, "%s", fl_wal_errmsg(&s->wal));
        fl_buf_free(&s->scratch);
        return rc;
    }
    if (m)
        m->text[0] = 0;
    rc = replay_all(s, m);
    if (rc)
        fl_raft_store_close(s);
    else
        s->issued_seq = fl_wal_last_seq(&s->wal) + 1;
    return rc;
}

int fl_raft_store_open_sized(fl_raft_store *s, const char *dir, const fl_wal_faults *faults,
                             uint64_t segment_size_max, fl_errmsg *m)
{
    fl_fs_posix *own = calloc(1, sizeof(*own));
    if (!own)
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    int rc = fl_fs_posix_open(own, dir, FL_FS_POSIX_LOCK | FL_FS_POSIX_MKDIR, m);
    fl_raft_store_opts o = {.faults = faults, .segment_size_max = segment_size_max};
    if (!rc)
        rc = fl_raft_store_open_fs(s, &own->fs, &o, m);
    else
        memset(s, 0, sizeof(*s));
    if (rc) {
        fl_fs_posix_close(own);
        free(own);
        return rc;
    }
    s->own_fs = own;
    return 0;
}

int fl_raft_store_open(fl_raft_store *s, const char *dir, const fl_wal_faults *faults, fl_errmsg *m)
{
    return fl_raft_store_open_sized(s, dir, faults, 0, m);
}

void fl_raft_store_durable(const fl_raft_store *s, fl_cons_durable *d)
{
    *d = (fl_cons_durable){s->term,  s->vote,    s->first,
                           s->count, s->entries, s->snap.index ? &s->snap : NULL};
}

void fl_raft_store_release(fl_raft_store *s)
{
    drop_from(s, 0);
    free(s->entries);
    s->entries = NULL;
    s->count = s->cap = 0;
    fl_buf_free(&s->snap_data);
}

/* Deletes the segments the last snapshot made obsolete, unless the worker owns the WAL. */
static void compact(fl_raft_store *s)
{
    size_t deleted = 0;
    if (!s->delete_before || s->syncing)
        return;
    if (fl_wal_delete_before(&s->wal, s->delete_before, &deleted) == 0)
        s->delete_before = 0; /* else (an unlink failed) retried after the next sync */
    s->segments_deleted += deleted;
}

/* The snapshot file's bytes into b (emptied first). */
static int encode_snapshot(fl_raft_store *s, fl_term term, fl_node_id vote,
                           const fl_cons_snapshot_meta *meta, const uint8_t *data, size_t n,
                           const fl_cons_entry *entries, fl_buf *b, fl_errmsg *m)
{
    fl_buf_reset(b);
    fl_buf_put_u32(b, 0); /* crc, patched below */
    fl_buf_put_u8(b, SNAP_VERSION);
    fl_buf_put_u64(b, s->issued_seq);
    int rc = fl_raft_record_encode_snapshot(s->protocol, term, vote, meta, data, n, entries, b);
    if (rc)
        return fl_errmsg_set(m, rc, "snapshot: cannot encode: %s", fl_strerror(rc));
    fl_buf_patch_u32(b, 0, fl_crc32c(0, b->data + 4, b->len - 4));
    return 0;
}

int fl_raft_store_save_snapshot(fl_raft_store *s, fl_term term, fl_node_id vote,
                                const fl_cons_snapshot_meta *meta, const uint8_t *data, size_t n,
                                const fl_cons_entry *entries, fl_errmsg *m)
{
    fl_buf b;
    fl_buf_init(&b);
    /* newer than any queued one: those are dropped, a running job's is not renamed */
    s->snap_next_ready = false;
    s->snap_next_data = NULL;
    s->job_snap_dropped = s->syncing && s->job_snap_ready;
    int rc = encode_snapshot(s, term, vote, meta, data, n, entries, &b, m);
    if (!rc)
        rc = fl_fs_write_atomic(s->fs, SNAP_FILE, b.data, b.len, m);
    fl_buf_free(&b);
    if (rc)
        return rc;
    s->delete_before = s->issued_seq; /* every record before it is in the file */
    s->dir_sync_seq = 0;              /* its directory sync made an earlier rename durable too */
    compact(s);
    return 0;
}

int fl_raft_store_queue_snapshot(fl_raft_store *s, fl_term term, fl_node_id vote,
                                 const fl_cons_snapshot_meta *meta, const uint8_t *data, size_t n,
                                 const fl_cons_entry *entries, fl_errmsg *m)
{
    fl_buf *h = &s->snap_next, *t = &s->snap_next_tail;
    fl_buf_reset(h);
    fl_buf_reset(t);
    fl_buf_put_u32(h, 0); /* crc: the job's, once it has all three pieces */
    fl_buf_put_u8(h, SNAP_VERSION);
    fl_buf_put_u64(h, s->issued_seq);
    int rc = fl_raft_record_encode_snapshot_head(s->protocol, term, vote, meta, h);
    if (!rc)
        rc = fl_raft_record_encode_snapshot_tail(n, entries, t);
    s->snap_next_ready = rc == 0;
    s->snap_next_seq = s->issued_seq;
    s->snap_next_data = data;
    s->snap_next_len = (size_t)meta->size;
    return rc ? fl_errmsg_set(m, rc, "snapshot: cannot encode: %s", fl_strerror(rc)) : 0;
}

/* The file's head must be the one this meta encodes (hard state aside: term and vote may
 * have moved since, and have fixed widths). */
int fl_raft_store_map_snapshot(fl_raft_store *s, const fl_cons_snapshot_meta *meta, fl_fs_view *v,
                               const uint8_t **data, fl_errmsg *m)
{
    fl_buf head;
    fl_buf_init(&head);
    int rc = fl_raft_record_encode_snapshot_head(s->protocol, 0, 0, meta, &head);
    if (rc) {
        fl_buf_free(&head);
        return fl_errmsg_set(m, rc, "snapshot: cannot encode: %s", fl_strerror(rc));
    }
    rc = s->fs->ops->read_all(s->fs, SNAP_FILE, v, m);
    const size_t hard = 14; /* kind, flags, term, vote: compared apart */
    const uint8_t *f = rc == 0 ? v->data + SNAP_HEADER : NULL;
    if (rc == 0 && (v->len < SNAP_HEADER + head.len + meta->size + 4 ||
                    v->data[4] != SNAP_VERSION || f[0] != head.data[0] || f[1] != 0 ||
                    memcmp(f + hard, head.data + hard, head.len - hard) != 0)) {
        s->fs->ops->release(s->fs, v);
        rc = snap_corrupt(s, m, "not the snapshot expected");
    }
    if (rc == 0)
        *data = f + head.len;
    fl_buf_free(&head);
    return rc;
}

int fl_raft_store_check_snapshot(fl_raft_store *s, const fl_cons_snapshot_meta *meta,
                                 const uint8_t *data, fl_errmsg *m)
{
    if (fl_crc32c(0, data, (size_t)meta->size) != meta->crc)
        return snap_corrupt(s, m,
                            "the snapshot's bytes no longer match their CRC (changed on disk)");
    return 0;
}

void fl_raft_store_unmap_snapshot(fl_raft_store *s, fl_fs_view *v)
{
    if (v->data || v->priv)
        s->fs->ops->release(s->fs, v);
    *v = (fl_fs_view){0};
}

bool fl_raft_store_uses(const fl_raft_store *s, const uint8_t *p)
{
    return p && ((s->snap_next_ready && s->snap_next_data == p) ||
                 (s->syncing && s->job_snap_ready && s->job_snap_data == p));
}

int fl_raft_store_append(fl_raft_store *s, const fl_cons_persist *p)
{
    FL_ASSERT(p->seq != 0);
    if (s->syncing) { /* the WAL is the job's: stage it, length first */
        size_t at = s->staged.len;
        fl_buf_put_u32(&s->staged, 0);
        if (fl_raft_record_encode(s->protocol, p, &s->staged)) {
            s->staged.len = at; /* keeps what was staged before intact */
            s->staged.err = 0;
            return FL_ENOMEM;
        }
        fl_buf_patch_u32(&s->staged, at, (uint32_t)(s->staged.len - at - 4));
        s->issued_seq++;
        s->bytes_appended += s->staged.len - at - 4;
        return 0;
    }
    fl_buf *b = &s->scratch;
    fl_buf_reset(b);
    if (fl_raft_record_encode(s->protocol, p, b))
        return b->err;
    s->issued_seq++;
    s->bytes_appended += b->len;
    return fl_wal_append(&s->wal, b->data, b->len, NULL);
}

int fl_raft_store_sync(fl_raft_store *s, fl_errmsg *m)
{
    FL_ASSERT(!s->syncing);
    int rc = fl_wal_sync(&s->wal);
    if (rc)
        fl_errmsg_set(m, rc, "%s", fl_wal_errmsg(&s->wal));
    return rc;
}

/* ---- background sync ---------------------------------------------------------------------- */

/* The job's directory sync for the snapshot file the last job's end renamed into place. */
static int sync_dir(fl_raft_store *s)
{
    fl_errmsg why;
    int rc = s->fs->ops->sync_dir(s->fs, &why);
    if (rc)
        fl_errmsg_set(&s->job_msg, rc,
                      "snapshot: sync directory %s (after renaming the snapshot file into "
                      "place): %s",
                      s->fs->where, why.text);
    return rc;
}

/* The job: the WAL written and synced; the directory synced if the last job's end renamed a
 * snapshot file into place; then a queued snapshot file's bytes into its temp file, synced.
 * The rename waits for the job's end (fl_raft_store_sync_finish): only then is the temp file
 * known durable, on either backend (fs.h rule 6); and the compaction behind it waits for the
 * end of the next job, whose directory sync makes the rename durable (the same rule: on the
 * simulated disk a sync issued in a job completes only with the job). It touches only the WAL and
 * the job_ fields. Zeros ahead of the WAL's write position (fl_wal_prefill) are written here too,
 * so never on the loop. */
static int sync_job(void *arg)
{
    fl_raft_store *s = arg;
    /* zeros ahead, off the loop, made durable by the same fdatasync as the records: the
     * syncs after it overwrite allocated blocks (wal.c, ZERO TAIL) */
    int rc = fl_wal_prefill(&s->wal);
    if (!rc)
        rc = fl_wal_sync(&s->wal);
    if (!rc && s->job_dir_seq)
        rc = sync_dir(s);
    if (rc || !s->job_snap_ready)
        return rc;
    fl_buf *h = &s->job_snap, *t = &s->job_snap_tail;
    uint32_t crc = fl_crc32c(0, h->data + 4, h->len - 4);
    crc = fl_crc32c(crc, s->job_snap_data, s->job_snap_len);
    fl_buf_patch_u32(h, 0, fl_crc32c(crc, t->data, t->len));
    fl_fs_part parts[] = {
        {h->data, h->len}, {s->job_snap_data, s->job_snap_len}, {t->data, t->len}};
    return fl_fs_write_synced(s->fs, SNAP_NEXT, parts, 3, &s->job_msg);
}

/* The job's inputs handed over: from here until sync_finish only the job touches them. */
static void job_prepare(fl_raft_store *s)
{
    FL_ASSERT(!s->syncing);
    /* the queued snapshot file goes with this job: the job owns its bytes from now on */
    fl_buf t = s->job_snap;
    s->job_snap = s->snap_next;
    s->snap_next = t;
    t = s->job_snap_tail;
    s->job_snap_tail = s->snap_next_tail;
    s->snap_next_tail = t;
    s->job_snap_ready = s->snap_next_ready;
    s->job_snap_seq = s->snap_next_seq;
    s->job_snap_data = s->snap_next_data;
    s->job_snap_len = s->snap_next_len;
    s->snap_next_ready = false;
    s->snap_next_data = NULL;
    s->job_dir_seq = s->dir_sync_seq; /* the last rename's directory sync: this job's */
    s->dir_sync_seq = 0;
    s->job_msg.text[0] = 0;
    s->syncing = true; /* first: the simulated disk runs the job at once */
    s->job_inline = false;
}

int fl_raft_store_sync_start(fl_raft_store *s)
{
    job_prepare(s);
    int rc = s->fs->ops->job_start(s->fs, sync_job, s);
    if (rc)
        s->syncing = false;
    return rc;
}

bool fl_raft_store_sync_small(const fl_raft_store *s, size_t bytes_max)
{
    return !s->syncing && !s->snap_next_ready && !s->dir_sync_seq &&
           s->wal.pending.len <= bytes_max && !fl_wal_prefill_due(&s->wal);
}

int fl_raft_store_sync_inline(fl_raft_store *s)
{
    job_prepare(s);
    s->job_inline = true;
    s->job_inline_rc = sync_job(s); /* a failure is the WAL's sticky error: sync_finish says */
    return 0;
}

int fl_raft_store_sync_fd(const fl_raft_store *s)
{
    return s->fs->ops->job_fd(s->fs);
}

static int rename_snapshot(fl_raft_store *s, fl_errmsg *m)
{
    fl_errmsg why;
    int rc = s->fs->ops->rename(s->fs, SNAP_NEXT, SNAP_FILE, &why);
    if (rc)
        return fl_errmsg_set(m, rc, "snapshot: rename %s/" SNAP_NEXT ": %s", s->fs->where,
                             why.text);
    s->dir_sync_seq = s->job_snap_seq;
    if (MUTANT(s, WAL_DELETED_BEFORE_DIR_SYNC) && s->job_snap_seq > s->delete_before)
        s->delete_before = s->job_snap_seq; /* compacted below, before the rename is durable */
    return 0;
}

int fl_raft_store_sync_finish(fl_raft_store *s, fl_errmsg *m)
{
    FL_ASSERT(s->syncing);
    int rc = s->job_inline ? s->job_inline_rc : s->fs->ops->job_finish(s->fs);
    s->syncing = s->job_inline = false;
    bool snap = s->job_snap_ready && !s->job_snap_dropped;
    uint64_t dir_synced = s->job_dir_seq;
    s->job_dir_seq = 0;
    s->job_snap_ready = s->job_snap_dropped = false;
    s->job_snap_data = NULL;        /* the caller's bytes are its own again */
    fl_buf_free(&s->job_snap_tail); /* the log after it: not kept for the next one */
    if (rc) {
        fl_errmsg_set(m, rc, "%s", s->job_msg.text[0] ? s->job_msg.text : fl_wal_errmsg(&s->wal));
        return rc;
    }
    /* the last rename is durable: the WAL behind that file goes (a save since may have asked
     * for more) */
    if (dir_synced && dir_synced > s->delete_before)
        s->delete_before = dir_synced;
    /* the temp file is durable: it becomes the snapshot file; its name is durable, and the
     * WAL behind it may go, once the next job synced the directory */
    if (snap && (rc = rename_snapshot(s, m)) != 0)
        return rc;
    for (size_t off = 0; rc == 0 && off < s->staged.len;) { /* length u32, record; ... */
        uint32_t len = fl_get_u32le(s->staged.data + off);
        FL_ASSERT(s->staged.len - off - 4 >= len); /* we wrote these bytes ourselves */
        rc = fl_wal_append(&s->wal, s->staged.data + off + 4, len, NULL);
        off += 4 + (size_t)len;
    }
    fl_buf_reset(&s->staged);
    if (rc)
        fl_errmsg_set(m, rc, "%s", fl_wal_errmsg(&s->wal));
    else
        compact(s);
    return rc;
}

void fl_raft_store_close(fl_raft_store *s)
{
    if (s->syncing && !s->job_inline)
        (void)s->fs->ops->job_finish(s->fs); /* the WAL must be ours again before it goes */
    s->syncing = s->job_inline = false;
    fl_buf_free(&s->staged);
    fl_buf_free(&s->snap_next);
    fl_buf_free(&s->job_snap);
    fl_buf_free(&s->snap_next_tail);
    fl_buf_free(&s->job_snap_tail);
    fl_raft_store_release(s);
    fl_wal_close(&s->wal);
    fl_buf_free(&s->scratch);
    if (s->own_fs) {
        fl_fs_posix_close(s->own_fs);
        free(s->own_fs);
        s->own_fs = NULL;
    }
}

bool fl_raft_store_stats_get(const fl_raft_store *s, fl_raft_store_stats *out)
{
    if (s->syncing)
        return false;
    out->wal_bytes = s->wal.stats.bytes;
    out->wal_fsyncs = s->wal.stats.fsyncs;
    out->wal_segments = s->wal.segs_count;
    out->segments_deleted = s->segments_deleted;
    return true;
}

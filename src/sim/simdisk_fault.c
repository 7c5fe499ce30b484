/* simdisk_fault.c: the simulated disk's syncs (queued, completed in order), crashes, copies,
 * corruption and invariants (simdisk.h). Files and the file interface are in simdisk.c. */
#include "simdisk_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- syncs ------------------------------------------------------------------------------ */

static sd_sync *sync_at(fl_simdisk *d, size_t i)
{
    return &d->syncs[(d->syncs_head + i) % SD_SYNCS_MAX];
}

int fl__sd_sync(fl_simdisk *d, uint32_t target, bool notify, uint64_t token, fl_errmsg *m)
{
    if (!d->syncs && !(d->syncs = malloc(SD_SYNCS_MAX * sizeof(*d->syncs))))
        return fl_errmsg_set(m, FL_ENOMEM, "Cannot allocate memory");
    if (d->fail_next && !notify) { /* fdatasync returns the error; nothing was queued */
        d->fail_next--;
        d->stamp++;
        if (d->st)
            d->st->fsync_failures++;
        return fl_errmsg_set(m, FL_EIO, "Input/output error (injected)");
    }
    if (d->syncs_count == SD_SYNCS_MAX)
        return fl_errmsg_set(m, FL_EFULL, "More than %d syncs pending", SD_SYNCS_MAX);
    sd_sync *s = sync_at(d, d->syncs_count++);
    s->seq = ++d->sync_seq;
    s->token = token;
    s->stamp = ++d->stamp;
    s->target = target;
    s->gen = 0;
    s->upto = s->pupto = 0;
    s->notify = notify;
    s->blocking = !d->in_job && !notify; /* the caller waits in it (simdisk.h) */
    s->fail = s->lie = false;
    if (target == SD_DIR) {
        s->upto = d->ops_base + d->n_ops;
    } else if (target != SD_NONE) {
        s->gen = d->files[target].gen;
        s->upto = d->files[target].count;
        s->pupto = d->files[target].patch_base + d->files[target].n_patches;
    }
    if (d->fail_next) {
        d->fail_next--;
        s->fail = true; /* a notifying sync reports it when it completes */
    } else if (d->lie_next) {
        d->lie_next--;
        s->lie = true;
    }
    uint64_t seq = s->seq;
    int rc = d->hooks.sync_queued ? d->hooks.sync_queued(d->hooks.arg, d, seq) : 0;
    if (rc && d->syncs_count && sync_at(d, d->syncs_count - 1)->seq == seq) {
        d->syncs_count--; /* refused: never queued */
        d->sync_seq--;
    }
    return rc ? fl_errmsg_set(m, rc, "Cannot queue the sync: %s", fl_strerror(rc)) : 0;
}

void fl_simdisk_fail_next_sync(fl_simdisk *d)
{
    d->fail_next++;
}

void fl_simdisk_lie_next_sync(fl_simdisk *d)
{
    d->lie_next++;
}

size_t fl_simdisk_pending(const fl_simdisk *d)
{
    return d->syncs_count;
}

bool fl_simdisk_split(const fl_simdisk *d)
{
    for (size_t i = 0; d->dir_fresh && i < d->n_files; i++)
        if (d->files[i].live && (d->files[i].durable < d->files[i].count || d->files[i].n_patches))
            return true;
    return false;
}

bool fl_simdisk_unlink_window(const fl_simdisk *d)
{
    for (size_t k = 1; k < d->n_ops; k++)
        if (d->ops[k].kind == SD_UNLINK)
            return true; /* ops[0] before it, not durable either */
    return false;
}

static void apply_op(sd_names *ns, const sd_dirop *o)
{
    if (o->kind == SD_CREATE) {
        int rc = fl__sd_names_put(ns, o->name, o->ino);
        FL_ASSERT(rc == 0); /* fails only without memory (a few names) */
        return;
    }
    /* the name must still be the file the operation acted on: else what put it there (a
     * create, a rename into it) was lost in the crash, and this operation with it (a lost
     * create's name missing; a lost rename's target still the file it would have replaced) */
    sd_name *e = fl__sd_find(ns, o->name);
    if (!e || e->ino != o->ino)
        return;
    if (o->kind == SD_RENAME) {
        int rc = fl__sd_names_put(ns, o->to, e->ino);
        FL_ASSERT(rc == 0);
    }
    fl__sd_names_del(ns, o->name);
}

/* The directory operations numbered below upto became durable. */
static void dir_durable(fl_simdisk *d, uint64_t upto)
{
    size_t k = 0;
    while (k < d->n_ops && d->ops_base + k < upto)
        apply_op(&d->dur, &d->ops[k++]);
    memmove(d->ops, d->ops + k, (d->n_ops - k) * sizeof(*d->ops));
    d->n_ops -= k;
    d->ops_base += k;
    fl__sd_gc(d);
}

int fl_simdisk_complete(fl_simdisk *d, bool *notify, uint64_t *token, int *status)
{
    if (d->syncs_count == 0)
        return 0;
    sd_sync s = *sync_at(d, 0);
    d->syncs_head = (d->syncs_head + 1) % SD_SYNCS_MAX;
    d->syncs_count--;
    *notify = s.notify;
    *token = s.token;
    *status = s.fail ? FL_EIO : 0;
    if (d->st && s.fail)
        d->st->fsync_failures++;
    else if (d->st && s.target != SD_NONE)
        d->st->fsyncs++; /* a lie claims success too */
    d->untrusted += s.lie;
    if (s.fail || s.lie)
        return 1;
    if (s.target == SD_DIR) {
        uint64_t base = d->ops_base;
        dir_durable(d, s.upto);
        d->dir_fresh |= d->ops_base > base;
    } else if (s.target != SD_NONE) {
        sd_file *f = &d->files[s.target];
        size_t upto = s.upto < f->count ? (size_t)s.upto : f->count;
        if (f->live && f->gen == s.gen && (upto > f->durable || s.pupto > f->patch_base)) {
            f->durable = upto > f->durable ? upto : f->durable;
            fl__sd_patches_durable(f, s.pupto);
            d->dir_fresh = false;
        }
    }
    return 1;
}

/* ---- crashes ---------------------------------------------------------------------------- */

/* RANDOM_SUBSET: each unsynced write survives or not; one dropped below a kept one reads back
 * as zeros (a hole). Returns the records kept. */
static size_t subset(fl_simdisk *d, sd_file *f, size_t n, fl_rng *rng)
{
    size_t last = f->durable; /* records [0, last) are kept */
    for (size_t i = f->durable; i < n; i++) {
        if (fl_rng_chance(rng, 0.5))
            last = i + 1;
        else
            f->recs[i].stamp = 0; /* dropped, for now */
    }
    for (size_t i = f->durable; i < last; i++)
        if (f->recs[i].stamp == 0) {
            uint8_t *p = f->bytes.data + f->recs[i].off;
            if (!fl__sd_all_zero(p, f->recs[i].len)) /* zeros dropped: no change to see */
                d->untrusted++;                      /* a hole: recovery may refuse, rightly */
            memset(p, 0, f->recs[i].len);
        }
    return last - f->durable;
}

static void crash_file(fl_simdisk *d, sd_file *f, size_t n, fl_simdisk_crash_mode mode, double torn,
                       fl_rng *rng)
{
    size_t unsynced = n - f->durable, keep = 0;
    if (unsynced && mode == FL_SIMDISK_RANDOM_PREFIX)
        keep = (size_t)fl_rng_range(rng, 0, unsynced);
    else if (unsynced && mode == FL_SIMDISK_RANDOM_SUBSET)
        keep = subset(d, f, n, rng);
    bool tear = false;
    if (unsynced && torn > 0 && fl_rng_chance(rng, torn)) {
        tear = true; /* the write in progress: when none survives, a piece of the first */
        if (keep == 0)
            keep = 1;
    }
    size_t count = f->durable + keep;
    size_t last_len = count ? f->recs[count - 1].len : 0;
    if (tear)
        last_len = last_len ? (size_t)fl_rng_below(rng, last_len) : 0;
    fl__sd_file_cut(d, f, count, last_len);
    f->durable = count;
}

/* Keeps some of the directory's first n unsynced operations (a crash in a mode that keeps
 * some). The contract storage is written against is fs.h rule 3: until sync_dir returns, a
 * crash may keep or drop each create, rename and unlink. What file systems make of it: ext4
 * (jbd2) and XFS journal metadata in order, so what survives is a prefix (a transaction is
 * never replayed without the ones before it); btrfs (and ext2) may keep a later operation and
 * lose an earlier one (ALICE, Pillai et al., OSDI 2014: directory operations reordered;
 * btrfs persists a file's names with that file's fsync, through its log tree). Modelling only
 * the prefix hid code that deletes what a rename it has not synced yet replaces (the
 * wal-deleted-before-dir-sync mutant: any crash that kept the unlinks kept the rename before
 * them). So: half the crashes with two or more unsynced operations keep each independently
 * (the reordering file systems, the contract), the others a random prefix (the journaling
 * ones). A rename or an unlink acts only on the file it acted on (apply_op): it is lost with
 * the create, or the rename into its name, it depends on. One draw from the
 * disk's stream as before (the prefix); the rest from a generator seeded by the stream's next
 * value, peeked at, not taken, so the stream, and every later draw of a campaign, stays where
 * it was. */
static void crash_dir_keep(fl_simdisk *d, size_t n, fl_rng *rng)
{
    size_t prefix = (size_t)fl_rng_range(rng, 0, n);
    fl_rng peek = *rng, sub; /* the stream's next value, not taken from it */
    fl_rng_seed(&sub, fl_mix64(fl_rng_next(&peek) ^ d->stamp ^ 0xD125EED));
    bool reorder = n >= 2 && fl_rng_chance(&sub, 0.5);
    for (size_t k = 0; k < n; k++) /* in call order: a kept rename after its kept create */
        if (reorder ? fl_rng_chance(&sub, 0.5) : k < prefix)
            apply_op(&d->dur, &d->ops[k]);
}

static void crash_dir(fl_simdisk *d, uint64_t cut, fl_simdisk_crash_mode mode, fl_rng *rng)
{
    size_t u = 0;
    while (u < d->n_ops && d->ops[u].stamp <= cut)
        u++;
    if (u && mode != FL_SIMDISK_LOSE_UNSYNCED)
        crash_dir_keep(d, u, rng);
    d->ops_base += d->n_ops;
    d->n_ops = 0;
    sd_names copy = d->cur;
    copy.n = 0;
    for (size_t i = 0; i < d->dur.n; i++) { /* cur's array, grown if kept operations made more */
        int rc = fl__sd_names_put(&copy, d->dur.v[i].name, d->dur.v[i].ino);
        FL_ASSERT(rc == 0);
    }
    d->cur = copy;
}

void fl_simdisk_crash(fl_simdisk *d, fl_simdisk_crash_mode mode, double torn, fl_rng *rng)
{
    /* a caller blocked in a sync had issued nothing after it */
    uint64_t cut = UINT64_MAX;
    for (size_t i = 0; i < d->syncs_count && cut == UINT64_MAX; i++)
        if (sync_at(d, i)->blocking)
            cut = sync_at(d, i)->stamp;
    for (size_t i = 0; i < d->n_files; i++) {
        sd_file *f = &d->files[i];
        if (!f->live)
            continue;
        size_t n = f->count;
        while (n > f->durable && f->recs[n - 1].stamp > cut)
            n--;
        fl__sd_file_cut(d, f, n, n ? f->recs[n - 1].len : 0);
        if (f->n_patches)
            fl__sd_crash_mixed(d, f, n, cut, mode, torn, rng);
        else
            crash_file(d, f, n, mode, torn, rng);
    }
    d->dir_fresh = false;
    crash_dir(d, cut, mode, rng);
    d->syncs_head = d->syncs_count = 0;
    for (int i = 0; i < SD_FDS_MAX; i++)
        d->fds[i] = -1;
    for (size_t i = 0; i < d->n_files; i++)
        d->files[i].refs = 0;
    d->in_job = false;
    fl__sd_gc(d);
}

/* ---- corruption ------------------------------------------------------------------------- */

int fl_simdisk_corrupt_random(fl_simdisk *d, fl_rng *rng)
{
    uint64_t total = 0;
    for (size_t i = 0; i < d->n_files; i++)
        for (size_t k = 0; d->files[i].live && k < d->files[i].durable; k++)
            total += d->files[i].recs[k].len > 0;
    if (total == 0)
        return FL_ENOTFOUND;
    uint64_t pick = fl_rng_below(rng, total);
    for (size_t i = 0; i < d->n_files; i++) {
        sd_file *f = &d->files[i];
        for (size_t k = 0; f->live && k < f->durable; k++) {
            if (f->recs[k].len == 0 || pick-- > 0)
                continue;
            size_t byte = (size_t)fl_rng_below(rng, f->recs[k].len);
            f->bytes.data[f->recs[k].off + byte] ^= (uint8_t)(1u << fl_rng_below(rng, 8));
            d->untrusted++;
            return 0;
        }
    }
    FL_ASSERT(0); /* pick < total */
    return FL_ENOTFOUND;
}

int fl_simdisk_corrupt_at(fl_simdisk *d, const char *name, uint64_t off, uint8_t mask)
{
    sd_name *e = fl__sd_find(&d->cur, name);
    if (!e || mask == 0)
        return FL_EINVAL;
    sd_file *f = &d->files[e->ino];
    size_t end = f->durable ? f->recs[f->durable - 1].off + f->recs[f->durable - 1].len : 0;
    if (off >= end)
        return FL_EINVAL;
    f->bytes.data[off] ^= mask;
    d->untrusted++;
    return 0;
}

uint64_t fl_simdisk_untrusted(const fl_simdisk *d)
{
    return d->untrusted;
}

/* ---- copies and invariants ---------------------------------------------------------------- */

static int copy_names(sd_names *dst, const sd_names *src)
{
    *dst = (sd_names){0};
    if (!src->n)
        return 0;
    dst->v = malloc(src->n * sizeof(*dst->v));
    if (!dst->v)
        return FL_ENOMEM;
    memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
    dst->n = dst->cap = src->n;
    return 0;
}

static int copy_file(sd_file *dst, const sd_file *src)
{
    *dst = *src;
    fl_buf_init(&dst->bytes);
    dst->recs = NULL;
    dst->cap = 0;
    if (!src->live)
        return 0;
    fl_buf_put_bytes(&dst->bytes, src->bytes.data, src->bytes.len);
    if (src->count && (dst->recs = malloc(src->count * sizeof(*dst->recs))) != NULL)
        memcpy(dst->recs, src->recs, src->count * sizeof(*dst->recs));
    dst->cap = src->count;
    int rc = fl__sd_patches_copy(dst, src);
    return rc || dst->bytes.err || (src->count && !dst->recs) ? FL_ENOMEM : 0;
}

fl_simdisk *fl_simdisk_clone(const fl_simdisk *src)
{
    fl_simdisk *d = fl_simdisk_new(src->fs.where, src->bytes_max, NULL, NULL);
    if (!d)
        return NULL;
    sd_file *files = src->n_files ? calloc(src->n_files, sizeof(*files)) : NULL;
    int rc = src->n_files && !files ? FL_ENOMEM : 0;
    d->files = files;
    for (size_t i = 0; !rc && i < src->n_files; i++, d->n_files++)
        rc = copy_file(&d->files[i], &src->files[i]);
    if (!rc)
        rc = copy_names(&d->cur, &src->cur) || copy_names(&d->dur, &src->dur) ? FL_ENOMEM : 0;
    if (!rc && src->n_ops && !(d->ops = malloc(src->n_ops * sizeof(*d->ops))))
        rc = FL_ENOMEM;
    if (!rc && src->syncs && !(d->syncs = malloc(SD_SYNCS_MAX * sizeof(*d->syncs))))
        rc = FL_ENOMEM;
    if (rc) {
        fl_simdisk_free(d);
        return NULL;
    }
    if (src->n_ops)
        memcpy(d->ops, src->ops, src->n_ops * sizeof(*d->ops));
    d->n_ops = d->cap_ops = src->n_ops;
    for (size_t i = 0; i < src->syncs_count; i++)
        d->syncs[i] = src->syncs[(src->syncs_head + i) % SD_SYNCS_MAX];
    d->syncs_count = src->syncs_count;
    d->bytes = src->bytes;
    d->stamp = src->stamp;
    d->ops_base = src->ops_base;
    d->sync_seq = src->sync_seq;
    memcpy(d->fds, src->fds, sizeof(d->fds));
    d->dir_fresh = src->dir_fresh;
    for (size_t i = 0; i < d->n_files; i++)
        d->files[i].refs = src->files[i].refs;
    return d;
}

void fl_simdisk_check(const fl_simdisk *d)
{
    size_t bytes = 0;
    for (size_t i = 0; i < d->n_files; i++) {
        const sd_file *f = &d->files[i];
        if (!f->live)
            continue;
        FL_ASSERT(f->durable <= f->count);
        size_t end = 0;
        for (size_t k = 0; k < f->count; k++) {
            FL_ASSERT(f->recs[k].off == end);
            FL_ASSERT(k == 0 || f->recs[k].stamp == 0 || f->recs[k].stamp > f->recs[k - 1].stamp);
            end += f->recs[k].len;
        }
        FL_ASSERT(end == f->bytes.len);
        fl__sd_patches_check(f);
        bytes += end;
    }
    FL_ASSERT(bytes == d->bytes);
    for (size_t i = 0; i < d->cur.n; i++)
        FL_ASSERT(d->cur.v[i].ino < d->n_files && d->files[d->cur.v[i].ino].live);
    for (size_t i = 1; i < d->syncs_count; i++)
        FL_ASSERT(d->syncs[(d->syncs_head + i) % SD_SYNCS_MAX].seq ==
                  d->syncs[(d->syncs_head + i - 1) % SD_SYNCS_MAX].seq + 1);
}

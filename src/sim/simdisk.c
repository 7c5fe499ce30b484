/* simdisk.c: the simulated disk's files and directory, and the file interface (fs.h) over
 * them (simdisk.h). Syncs, crashes and copies are in simdisk_fault.c.
 *
 * Every operation that changes the disk takes the next stamp; a file's records carry the
 * stamp of their write, a directory operation its own, so a crash can tell what happened
 * after a sync its caller was still blocked in. Files are slots that stay allocated while a
 * name, a pending create, or an open descriptor refers to them (fl__sd_gc frees the rest). */
#include "simdisk_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------------------- */

sd_name *fl__sd_find(sd_names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i].name, name))
            return &ns->v[i];
    return NULL;
}

int fl__sd_names_put(sd_names *ns, const char *name, uint32_t ino)
{
    sd_name *e = fl__sd_find(ns, name);
    if (!e) {
        if (ns->n == ns->cap) {
            size_t cap = ns->cap ? ns->cap * 2 : 8;
            sd_name *v = realloc(ns->v, cap * sizeof(*v));
            if (!v)
                return FL_ENOMEM;
            ns->v = v;
            ns->cap = cap;
        }
        e = &ns->v[ns->n++];
        snprintf(e->name, sizeof(e->name), "%s", name);
    }
    e->ino = ino;
    return 0;
}

void fl__sd_names_del(sd_names *ns, const char *name)
{
    sd_name *e = fl__sd_find(ns, name);
    if (e) /* keep the order: listings stay deterministic */
        memmove(e, e + 1, (size_t)(ns->v + ns->n - (e + 1)) * sizeof(*e));
    ns->n -= e != NULL;
}

static bool named(const sd_names *ns, uint32_t ino)
{
    for (size_t i = 0; i < ns->n; i++)
        if (ns->v[i].ino == ino)
            return true;
    return false;
}

/* ---- files -------------------------------------------------------------------------------- */

static int file_new(fl_simdisk *d, uint32_t *ino)
{
    size_t i = 0;
    while (i < d->n_files && d->files[i].live)
        i++;
    if (i == d->n_files) {
        if (d->n_files == SD_FILES_MAX)
            return FL_EFULL;
        sd_file *f = realloc(d->files, (d->n_files + 1) * sizeof(*f));
        if (!f)
            return FL_ENOMEM;
        d->files = f;
        memset(&d->files[d->n_files++], 0, sizeof(*f));
    }
    sd_file *f = &d->files[i];
    uint32_t gen = f->gen;
    memset(f, 0, sizeof(*f));
    f->gen = gen;
    f->live = true;
    fl_buf_init(&f->bytes);
    *ino = (uint32_t)i;
    return 0;
}

static void file_free(fl_simdisk *d, sd_file *f)
{
    d->bytes -= f->bytes.len;
    fl_buf_free(&f->bytes);
    free(f->recs);
    free(f->patches);
    uint32_t gen = f->gen + 1;
    memset(f, 0, sizeof(*f));
    f->gen = gen;
}

/* Frees the files nothing refers to any more: no name (now or durable), no pending create
 * (a crash could bring it back), no open descriptor. */
void fl__sd_gc(fl_simdisk *d)
{
    for (uint32_t i = 0; i < d->n_files; i++) {
        sd_file *f = &d->files[i];
        if (!f->live || f->refs || named(&d->cur, i) || named(&d->dur, i))
            continue;
        bool pending = false;
        for (size_t k = 0; k < d->n_ops && !pending; k++)
            pending = d->ops[k].kind == SD_CREATE && d->ops[k].ino == i;
        if (!pending)
            file_free(d, f);
    }
}

/* Keeps the first count records, the last one cut to last_len bytes. */
void fl__sd_file_cut(fl_simdisk *d, sd_file *f, size_t count, size_t last_len)
{
    FL_ASSERT(count <= f->count);
    size_t end = 0;
    if (count > 0) {
        FL_ASSERT(last_len <= f->recs[count - 1].len);
        f->recs[count - 1].len = last_len;
        end = f->recs[count - 1].off + last_len;
    }
    d->bytes -= f->bytes.len - end;
    f->bytes.len = end;
    f->count = count;
    fl__sd_patches_clip(f, end);
    if (f->durable > count)
        f->durable = count;
    /* pending syncs of this file cover at most what is left: what is written next is not
     * theirs */
    uint32_t ino = (uint32_t)(f - d->files);
    for (size_t i = 0; i < d->syncs_count; i++) {
        sd_sync *s = &d->syncs[(d->syncs_head + i) % SD_SYNCS_MAX];
        if (s->target == ino && s->gen == f->gen && s->upto > count)
            s->upto = count;
    }
}

static int file_append(fl_simdisk *d, sd_file *f, const void *p, size_t n)
{
    if (n > d->bytes_max - d->bytes)
        return FL_EFULL;
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        sd_rec *r = realloc(f->recs, cap * sizeof(*r));
        if (!r)
            return FL_ENOMEM;
        f->recs = r;
        f->cap = cap;
    }
    size_t off = f->bytes.len;
    fl_buf_put_bytes(&f->bytes, p, n);
    if (f->bytes.err) {
        f->bytes.err = 0; /* what it held stays; this write did not happen */
        return FL_ENOMEM;
    }
    f->recs[f->count++] = (sd_rec){off, n, ++d->stamp};
    d->bytes += n;
    if (d->st) {
        d->st->disk_writes++;
        d->st->disk_bytes += n;
    }
    return 0;
}

/* ---- the file interface -------------------------------------------------------------------- */

static void before(fl_simdisk *d, fl_simdisk_op op)
{
    if (d->hooks.before_op)
        d->hooks.before_op(d->hooks.arg, d, op);
}

static int fail(fl_errmsg *m, int code, const char *why)
{
    return fl_errmsg_set(m, code, "%s", why);
}

static sd_file *file_of(fl_simdisk *d, int fd)
{
    FL_ASSERT(fd >= 0 && fd < SD_FDS_MAX && d->fds[fd] >= 0); /* the caller's own descriptor */
    return &d->files[d->fds[fd]];
}

/* Room for one more directory operation. */
static int ops_reserve(fl_simdisk *d, fl_errmsg *m)
{
    if (d->n_ops < d->cap_ops)
        return 0;
    size_t cap = d->cap_ops ? d->cap_ops * 2 : 16;
    sd_dirop *o = realloc(d->ops, cap * sizeof(*o));
    if (!o)
        return fail(m, FL_ENOMEM, "Cannot allocate memory");
    d->ops = o;
    d->cap_ops = cap;
    return 0;
}

static int create(fl_simdisk *d, const char *name, uint32_t *ino, fl_errmsg *m)
{
    if (strlen(name) >= FL_FS_NAME_MAX || strchr(name, '/'))
        return fail(m, FL_EINVAL, "File name too long or not plain");
    before(d, FL_SIMDISK_OP_CREATE);
    if (ops_reserve(d, m))
        return FL_ENOMEM;
    int rc = file_new(d, ino);
    if (!rc)
        rc = fl__sd_names_put(&d->cur, name, *ino);
    if (rc)
        return fail(m, rc, rc == FL_EFULL ? "Too many open files" : "Cannot allocate memory");
    sd_dirop *o = &d->ops[d->n_ops++];
    memset(o, 0, sizeof(*o));
    o->kind = SD_CREATE;
    o->ino = *ino;
    o->stamp = ++d->stamp;
    snprintf(o->name, sizeof(o->name), "%s", name);
    return 0;
}

static int sd_open(fl_fs *fs, const char *name, unsigned flags, int *fd, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    int slot = 0;
    while (slot < SD_FDS_MAX && d->fds[slot] >= 0)
        slot++;
    if (slot == SD_FDS_MAX)
        return fail(m, FL_EFULL, "Too many open files");
    sd_name *e = fl__sd_find(&d->cur, name);
    uint32_t ino;
    if (e) {
        ino = e->ino;
    } else if (!(flags & FL_FS_CREATE)) {
        return fail(m, FL_ENOTFOUND, "No such file or directory");
    } else {
        int rc = create(d, name, &ino, m);
        if (rc)
            return rc;
    }
    sd_file *f = &d->files[ino];
    if ((flags & FL_FS_TRUNC) && f->count) {
        before(d, FL_SIMDISK_OP_TRUNCATE);
        d->stamp++;
        fl__sd_file_cut(d, f, 0, 0);
    }
    f->refs++;
    d->fds[slot] = (int32_t)ino;
    *fd = slot;
    return 0;
}

static void sd_close(fl_fs *fs, int fd)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    file_of(d, fd)->refs--;
    d->fds[fd] = -1;
    fl__sd_gc(d);
}

static int sd_write(fl_fs *fs, int fd, const void *p, size_t n, uint64_t off, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    sd_file *f = file_of(d, fd);
    /* storage appends, fills a file it just created, or overwrites zeros it wrote (the WAL's
     * preallocated space) */
    size_t over = off < f->bytes.len ? f->bytes.len - (size_t)off : 0;
    over = over < n ? over : n;
    if (off > f->bytes.len || !fl__sd_all_zero(f->bytes.data + off, over))
        return fail(m, FL_EINVAL, "Simulated files take writes at their end or over zeros only");
    before(d, FL_SIMDISK_OP_WRITE);
    int rc = over ? fl__sd_patch(d, f, p, over, (size_t)off) : 0;
    if (!rc && n > over) { /* one write: its two parts share a stamp, survive together */
        rc = file_append(d, f, (const uint8_t *)p + over, n - over);
        if (!rc && over)
            f->patches[f->n_patches - 1].stamp = d->stamp;
    }
    if (rc == FL_EFULL)
        return fail(m, FL_EIO, "No space left on device");
    return rc ? fail(m, rc, "Cannot allocate memory") : 0;
}

static int sd_truncate(fl_fs *fs, int fd, uint64_t size, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    sd_file *f = file_of(d, fd);
    if (size > f->bytes.len)
        return fail(m, FL_EINVAL, "Simulated files only shrink");
    before(d, FL_SIMDISK_OP_TRUNCATE);
    d->stamp++;
    size_t count = 0;
    while (count < f->count && f->recs[count].off + f->recs[count].len <= size)
        count++;
    if (count < f->count && f->recs[count].off < size) /* size falls inside this record */
        fl__sd_file_cut(d, f, count + 1, (size_t)size - f->recs[count].off);
    else
        fl__sd_file_cut(d, f, count, count ? f->recs[count - 1].len : 0);
    return 0;
}

static int sd_fsync(fl_fs *fs, int fd, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    file_of(d, fd);
    before(d, FL_SIMDISK_OP_SYNC);
    return fl__sd_sync(d, (uint32_t)d->fds[fd], false, 0, m);
}

static int sd_read_all(fl_fs *fs, const char *name, fl_fs_view *v, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    sd_name *e = fl__sd_find(&d->cur, name);
    *v = (fl_fs_view){0};
    if (!e)
        return fail(m, FL_ENOTFOUND, "No such file or directory");
    v->data = d->files[e->ino].bytes.data;
    v->len = d->files[e->ino].bytes.len;
    return 0;
}

static void sd_release(fl_fs *fs, fl_fs_view *v)
{
    (void)fs;
    *v = (fl_fs_view){0};
}

static int dirop(fl_simdisk *d, uint8_t kind, const char *name, const char *to, fl_errmsg *m)
{
    if (!fl__sd_find(&d->cur, name))
        return fail(m, FL_ENOTFOUND, "No such file or directory");
    if (to && (strlen(to) >= FL_FS_NAME_MAX || strchr(to, '/')))
        return fail(m, FL_EINVAL, "File name too long or not plain");
    before(d, kind == SD_RENAME ? FL_SIMDISK_OP_RENAME : FL_SIMDISK_OP_UNLINK);
    if (ops_reserve(d, m))
        return FL_ENOMEM;
    uint32_t ino = fl__sd_find(&d->cur, name)->ino;
    if (to && fl__sd_names_put(&d->cur, to, ino))
        return fail(m, FL_ENOMEM, "Cannot allocate memory");
    fl__sd_names_del(&d->cur, name);
    sd_dirop *o = &d->ops[d->n_ops++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->ino = ino;
    o->stamp = ++d->stamp;
    snprintf(o->name, sizeof(o->name), "%s", name);
    if (to)
        snprintf(o->to, sizeof(o->to), "%s", to);
    fl__sd_gc(d);
    return 0;
}

static int sd_rename(fl_fs *fs, const char *from, const char *to, fl_errmsg *m)
{
    return dirop((fl_simdisk *)fs, SD_RENAME, from, to, m);
}

static int sd_unlink(fl_fs *fs, const char *name, fl_errmsg *m)
{
    return dirop((fl_simdisk *)fs, SD_UNLINK, name, NULL, m);
}

static int sd_sync_dir(fl_fs *fs, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    before(d, FL_SIMDISK_OP_SYNC_DIR);
    return fl__sd_sync(d, SD_DIR, false, 0, m);
}

static int sd_list(fl_fs *fs, fl_fs_name_fn fn, void *arg, fl_errmsg *m)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    (void)m;
    for (size_t i = 0; i < d->cur.n; i++) {
        int rc = fn(arg, d->cur.v[i].name);
        if (rc)
            return rc;
    }
    return 0;
}

/* A job runs at once; its syncs do not block. Its end is the completion of the last sync it
 * queued (syncs complete in order), or of a sync of nothing queued for the purpose. */
static int sd_job_start(fl_fs *fs, int (*fn)(void *arg), void *arg)
{
    fl_simdisk *d = (fl_simdisk *)fs;
    FL_ASSERT(!d->in_job);
    d->in_job = true;
    d->job_first_seq = d->sync_seq + 1;
    d->job_result = fn(arg);
    d->in_job = false;
    if (d->syncs_count && d->sync_seq >= d->job_first_seq) {
        sd_sync *last = &d->syncs[(d->syncs_head + d->syncs_count - 1) % SD_SYNCS_MAX];
        if (last->seq == d->sync_seq && !last->notify) {
            last->notify = true;
            last->token = FL_FS_JOB_TOKEN;
            return 0;
        }
    }
    return fl__sd_sync(d, SD_NONE, true, FL_FS_JOB_TOKEN, NULL);
}

bool fl_simdisk_in_job(const fl_simdisk *d)
{
    return d->in_job;
}

static int sd_job_finish(fl_fs *fs)
{
    return ((fl_simdisk *)fs)->job_result;
}

static int sd_job_fd(const fl_fs *fs)
{
    (void)fs;
    return -1;
}

static const fl_fs_ops simdisk_ops = {
    .open = sd_open,
    .close = sd_close,
    .write = sd_write,
    .truncate = sd_truncate,
    .sync = sd_fsync,
    .read_all = sd_read_all,
    .release = sd_release,
    .rename = sd_rename,
    .unlink = sd_unlink,
    .sync_dir = sd_sync_dir,
    .list = sd_list,
    .job_start = sd_job_start,
    .job_finish = sd_job_finish,
    .job_fd = sd_job_fd,
};

fl_simdisk *fl_simdisk_new(const char *where, size_t bytes_max, const fl_simdisk_hooks *hooks,
                           fl_sim_node_stats *stats)
{
    fl_simdisk *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->fs.ops = &simdisk_ops;
    snprintf(d->fs.where, sizeof(d->fs.where), "%s", where);
    d->bytes_max = bytes_max;
    if (hooks)
        d->hooks = *hooks;
    d->st = stats;
    for (int i = 0; i < SD_FDS_MAX; i++)
        d->fds[i] = -1;
    return d;
}

void fl_simdisk_free(fl_simdisk *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i].live)
            file_free(d, &d->files[i]);
    free(d->files);
    free(d->cur.v);
    free(d->dur.v);
    free(d->ops);
    free(d->syncs);
    free(d);
}

fl_fs *fl_simdisk_fs(fl_simdisk *d)
{
    return &d->fs;
}

size_t fl_simdisk_bytes(const fl_simdisk *d)
{
    return d->bytes;
}

uint64_t fl_simdisk_ops(const fl_simdisk *d)
{
    return d->stamp;
}

/* ---- raw records ------------------------------------------------------------------------ */

/* The records file, created durably on first use (a protocol writing raw records has no
 * directory to sync). */
static sd_file *records_file(fl_simdisk *d, bool create)
{
    sd_name *e = fl__sd_find(&d->cur, SD_RECORDS);
    if (e)
        return &d->files[e->ino];
    uint32_t ino;
    if (!create || file_new(d, &ino))
        return NULL;
    if (fl__sd_names_put(&d->cur, SD_RECORDS, ino) || fl__sd_names_put(&d->dur, SD_RECORDS, ino)) {
        fl__sd_names_del(&d->cur, SD_RECORDS);
        file_free(d, &d->files[ino]);
        return NULL;
    }
    return &d->files[ino];
}

static const sd_file *records_of(const fl_simdisk *d)
{
    return records_file((fl_simdisk *)d, false);
}

int fl_simdisk_record_write(fl_simdisk *d, const void *rec, size_t len)
{
    sd_file *f = records_file(d, true);
    if (!f)
        return FL_ENOMEM;
    before(d, FL_SIMDISK_OP_WRITE);
    return file_append(d, f, rec, len);
}

int fl_simdisk_sync_notify(fl_simdisk *d, uint64_t token)
{
    sd_file *f = records_file(d, true);
    if (!f)
        return FL_ENOMEM;
    before(d, FL_SIMDISK_OP_SYNC);
    return fl__sd_sync(d, (uint32_t)(f - d->files), true, token, NULL);
}

size_t fl_simdisk_record_count(const fl_simdisk *d)
{
    const sd_file *f = records_of(d);
    return f ? f->count : 0;
}

size_t fl_simdisk_record_durable(const fl_simdisk *d)
{
    const sd_file *f = records_of(d);
    return f ? f->durable : 0;
}

int fl_simdisk_record(const fl_simdisk *d, size_t i, const uint8_t **data, size_t *len)
{
    const sd_file *f = records_of(d);
    if (!f || i >= f->count)
        return FL_EINVAL;
    *data = f->bytes.data + f->recs[i].off;
    *len = f->recs[i].len;
    return 0;
}

int fl_simdisk_record_truncate(fl_simdisk *d, size_t count)
{
    sd_file *f = records_file(d, false);
    if (!f || count > f->count)
        return count ? FL_EINVAL : 0;
    before(d, FL_SIMDISK_OP_TRUNCATE);
    d->stamp++;
    fl__sd_file_cut(d, f, count, count ? f->recs[count - 1].len : 0);
    return 0;
}

int fl_simdisk_record_corrupt(fl_simdisk *d, size_t i, size_t byte, uint8_t mask)
{
    sd_file *f = records_file(d, false);
    if (!f || i >= f->durable || byte >= f->recs[i].len || mask == 0)
        return FL_EINVAL;
    f->bytes.data[f->recs[i].off + byte] ^= mask;
    d->untrusted++;
    return 0;
}

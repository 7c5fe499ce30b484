/* raft_store.c: Raft's hard state and log as WAL records, and their replay (raft_store.h).
 * One WAL record per persist request, in the form of raft_record.h (shared with the
 * simulator). Replay applies records in order. Invariant: first_index <= recovered count + 1
 * (a request never leaves a hole); a record breaking it, or not decoding exactly, is
 * corruption. */
#include "faultline/raft_store.h"

#include "faultline/raft_record.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void drop_from(fl_raft_store *s, size_t count)
{
    for (size_t i = count; i < s->count; i++)
        free((void *)s->entries[i].data);
    if (count < s->count)
        s->count = count;
}

static int push_entry(fl_raft_store *s, const fl_raft_entry *in)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        fl_raft_entry *e = realloc(s->entries, cap * sizeof(*e));
        if (!e)
            return FL_ENOMEM;
        s->entries = e;
        s->cap = cap;
    }
    uint8_t *copy = malloc(in->len ? in->len : 1);
    if (!copy)
        return FL_ENOMEM;
    memcpy(copy, in->data, in->len);
    fl_raft_entry e = *in;
    e.data = copy;
    s->entries[s->count++] = e;
    return 0;
}

static int replay(fl_raft_store *s, const fl_wal_record *rec, fl_errmsg *m)
{
    fl_raft_record r;
    /* snapshot checkpoints (kind 2) are the simulator's for now: the server does not write them */
    if (fl_raft_record_decode(rec->data, rec->len, &r) || r.kind != 1 ||
        r.first_index > s->count + 1)
        return fl_errmsg_set(m, FL_ECORRUPT, "WAL record %llu: bad raft record header",
                             (unsigned long long)rec->seq);
    if (r.hard_state) {
        s->term = r.term;
        s->vote = r.vote;
    }
    drop_from(s, (size_t)(r.first_index - 1));
    fl_raft_entry e;
    int rc;
    while ((rc = fl_raft_record_next(&r, &e)) == 1) {
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

static int replay_all(fl_raft_store *s, fl_errmsg *m)
{
    fl_wal_iter it;
    int rc = fl_wal_iter_init(&s->wal, &it, 1);
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

int fl_raft_store_open(fl_raft_store *s, const char *dir, const fl_wal_faults *faults, fl_errmsg *m)
{
    memset(s, 0, sizeof(*s));
    s->efd = -1;
    fl_buf_init(&s->scratch);
    fl_buf_init(&s->staged);
    fl_wal_config cfg = {.record_size_max = FL_WAL_RECORD_LEN_LIMIT,
                         .faults = (fl_wal_faults *)faults};
    int rc = fl_wal_open(&s->wal, dir, &cfg);
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
    return rc;
}

void fl_raft_store_durable(const fl_raft_store *s, fl_raft_durable *d)
{
    *d = (fl_raft_durable){s->term, s->vote, 1, s->count, s->entries, NULL};
}

void fl_raft_store_release(fl_raft_store *s)
{
    drop_from(s, 0);
    free(s->entries);
    s->entries = NULL;
    s->count = s->cap = 0;
}

int fl_raft_store_append(fl_raft_store *s, const fl_raft_update *up)
{
    FL_ASSERT(up->persist.seq != 0);
    fl_buf *b = &s->scratch;
    fl_buf_reset(b);
    if (fl_raft_record_encode(up, b))
        return b->err;
    if (!s->syncing)
        return fl_wal_append(&s->wal, b->data, b->len, NULL);
    fl_buf_put_u32(&s->staged, (uint32_t)b->len); /* the WAL is the worker's: stage it */
    fl_buf_put_bytes(&s->staged, b->data, b->len);
    return s->staged.err;
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

static void *worker(void *arg)
{
    fl_raft_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->want && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->quit)
            break;
        s->want = false;
        pthread_mutex_unlock(&s->mu);
        int rc = fl_wal_sync(&s->wal);
        pthread_mutex_lock(&s->mu);
        s->result = rc;
        uint64_t one = 1;
        ssize_t w = write(s->efd, &one, sizeof(one));
        (void)w; /* an eventfd write only fails on overflow, which 1 per sync cannot reach */
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int worker_start(fl_raft_store *s)
{
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0)
        return FL_EIO;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, worker, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        close(s->efd);
        return FL_ENOMEM;
    }
    s->worker_up = true;
    return 0;
}

int fl_raft_store_sync_start(fl_raft_store *s)
{
    FL_ASSERT(!s->syncing);
    if (!s->worker_up) {
        int rc = worker_start(s);
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&s->mu);
    s->syncing = true;
    s->want = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int fl_raft_store_sync_fd(const fl_raft_store *s)
{
    return s->worker_up ? s->efd : -1;
}

int fl_raft_store_sync_finish(fl_raft_store *s, fl_errmsg *m)
{
    FL_ASSERT(s->syncing);
    uint64_t n;
    ssize_t r = read(s->efd, &n, sizeof(n));
    (void)r;
    pthread_mutex_lock(&s->mu); /* orders the worker's WAL writes before what follows */
    int rc = s->result;
    s->syncing = false;
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        fl_errmsg_set(m, rc, "%s", fl_wal_errmsg(&s->wal));
        return rc;
    }
    fl_reader rd;
    fl_reader_init(&rd, s->staged.data, s->staged.len);
    while (rc == 0 && fl_reader_left(&rd) > 0) {
        uint32_t len = fl_read_u32(&rd);
        const uint8_t *p = fl_read_bytes(&rd, len);
        FL_ASSERT(rd.err == 0); /* we wrote these bytes ourselves */
        rc = fl_wal_append(&s->wal, p, len, NULL);
    }
    fl_buf_reset(&s->staged);
    if (rc)
        fl_errmsg_set(m, rc, "%s", fl_wal_errmsg(&s->wal));
    return rc;
}

static void worker_stop(fl_raft_store *s)
{
    if (!s->worker_up)
        return;
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL); /* waits for a sync in progress */
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    close(s->efd);
    s->worker_up = false;
}

void fl_raft_store_close(fl_raft_store *s)
{
    worker_stop(s);
    fl_buf_free(&s->staged);
    fl_raft_store_release(s);
    fl_wal_close(&s->wal);
    fl_buf_free(&s->scratch);
}

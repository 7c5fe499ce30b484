/* freer.c: a thread that frees pointer arrays handed over in bulk (freer.h).
 *
 * Invariant: every batch given is either queued (head..tail) or being freed by the thread, or
 * was freed; freed == given once the queue is empty and the thread idle. The loop's share of
 * a batch is one small malloc (its queue node, allocated inside the batch's own array would
 * need a slot the core does not leave) and a lock round; the thread does the frees. */
#include "faultline/freer.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct fl_freer_batch {
    fl_freer_batch *next;
    void **ptrs;
    size_t n;
};

static void free_batch(void **ptrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ptrs[i]);
    free(ptrs);
}

/* The oldest batch off the queue, waiting for one; NULL once stopping and empty. */
static fl_freer_batch *next_batch(fl_freer *f)
{
    pthread_mutex_lock(&f->mu);
    while (!f->head && !f->stopping)
        pthread_cond_wait(&f->cv, &f->mu);
    fl_freer_batch *b = f->head;
    if (b) {
        f->head = b->next;
        if (!f->head)
            f->tail = NULL;
    }
    pthread_mutex_unlock(&f->mu);
    return b;
}

static void *freer_main(void *arg)
{
    fl_freer *f = arg;
    fl_freer_batch *b;
    while ((b = next_batch(f)) != NULL) {
        size_t n = b->n;
        free_batch(b->ptrs, n);
        free(b);
        pthread_mutex_lock(&f->mu);
        f->freed += n;
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

int fl_freer_start(fl_freer *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    /* the thread takes no signal: a process that waits for SIGTERM on a signalfd must not
     * have it delivered (and acted on by default) here, whenever this was started */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->thread, NULL, freer_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return FL_EIO;
    f->up = true;
    return 0;
}

void fl_freer_give(fl_freer *f, void **ptrs, size_t n)
{
    FL_ASSERT(ptrs && n > 0);
    fl_freer_batch *b = f->up ? malloc(sizeof(*b)) : NULL;
    if (!b) { /* no thread, or no node for the queue: here, now */
        free_batch(ptrs, n);
        pthread_mutex_lock(&f->mu);
        f->batches++;
        f->given += n;
        f->freed += n;
        pthread_mutex_unlock(&f->mu);
        return;
    }
    *b = (fl_freer_batch){.ptrs = ptrs, .n = n};
    pthread_mutex_lock(&f->mu);
    if (f->tail)
        f->tail->next = b;
    else
        f->head = b;
    f->tail = b;
    f->batches++;
    f->given += n;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void fl_freer_stop(fl_freer *f)
{
    if (!f->up)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL); /* it empties the queue before it ends */
    f->up = false;
    FL_ASSERT(f->head == NULL && f->freed == f->given);
}

void fl_freer_counts(fl_freer *f, uint64_t *batches, uint64_t *given, uint64_t *freed)
{
    pthread_mutex_lock(&f->mu);
    *batches = f->batches;
    *given = f->given;
    *freed = f->freed;
    pthread_mutex_unlock(&f->mu);
}

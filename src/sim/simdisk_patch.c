/* simdisk_patch.c: the simulated disk's overwrites (simdisk.h): writes inside a file, over
 * zeros it holds (the WAL's records over the zeros it preallocated, docs/wal.md), kept apart
 * from the appended writes so that a crash can revert each one that no sync covered. */
#include "simdisk_int.h"

#include "faultline/array.h"
#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

bool fl__sd_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int fl__sd_patch(fl_simdisk *d, sd_file *f, const void *p, size_t n, size_t off)
{
    FL_ASSERT(off + n <= f->bytes.len && fl__sd_all_zero(f->bytes.data + off, n));
    void *v = f->patches;
    if (fl_array_grow(&v, &f->cap_patches, f->n_patches + 1, sizeof(*f->patches)))
        return FL_ENOMEM;
    f->patches = v;
    memcpy(f->bytes.data + off, p, n);
    f->patches[f->n_patches++] = (sd_patch){off, n, ++d->stamp};
    if (d->st) {
        d->st->disk_writes++;
        d->st->disk_bytes += n;
    }
    return 0;
}

void fl__sd_patches_durable(sd_file *f, uint64_t upto)
{
    if (upto <= f->patch_base)
        return;
    size_t k = upto - f->patch_base < f->n_patches ? (size_t)(upto - f->patch_base) : f->n_patches;
    memmove(f->patches, f->patches + k, (f->n_patches - k) * sizeof(*f->patches));
    f->n_patches -= k;
    f->patch_base += k;
}

void fl__sd_patches_clip(sd_file *f, size_t end)
{
    for (size_t i = 0; i < f->n_patches; i++) {
        sd_patch *p = &f->patches[i];
        if (p->off >= end)
            p->len = 0; /* stays, so that the numbers pending syncs hold stay right */
        else if (p->off + p->len > end)
            p->len = end - p->off;
    }
}

/* One unsynced write of a file in stamp order: an appended record or an overwrite. */
typedef struct sd_unsynced {
    bool patch;
    bool keep;
    size_t i; /* its index in recs or patches */
    uint64_t stamp;
} sd_unsynced;

/* Merges records [durable, n) and overwrites [0, np) by stamp into u. */
static void merge(const sd_file *f, size_t n, size_t np, sd_unsynced *u)
{
    size_t a = f->durable, b = 0, k = 0;
    while (a < n || b < np) {
        /* a write over the zeros' end is an overwrite and an append of one stamp: the
         * overwrite first, as its bytes come first */
        bool patch = a == n || (b < np && f->patches[b].stamp <= f->recs[a].stamp);
        uint64_t stamp = patch ? f->patches[b].stamp : f->recs[a].stamp;
        u[k++] = (sd_unsynced){.patch = patch, .i = patch ? b++ : a++, .stamp = stamp};
    }
}

/* The survivors, as for a file of appends alone (simdisk.h): none, a prefix in issue order, or
 * each one half the time; then, with probability torn, the last survivor cut short (if none,
 * a piece of the first). Returns the index in u of the torn one, or SIZE_MAX. */
static size_t choose(size_t nu, sd_unsynced *u, fl_simdisk_crash_mode mode, double torn,
                     fl_rng *rng, size_t *last)
{
    size_t prefix = nu && mode == FL_SIMDISK_RANDOM_PREFIX ? (size_t)fl_rng_range(rng, 0, nu) : 0;
    *last = SIZE_MAX;
    for (size_t k = 0; k < nu; k++) {
        if (k > 0 && u[k].stamp == u[k - 1].stamp) /* the rest of one write */
            u[k].keep = u[k - 1].keep;
        else
            u[k].keep = mode == FL_SIMDISK_RANDOM_PREFIX   ? k < prefix
                        : mode == FL_SIMDISK_RANDOM_SUBSET ? fl_rng_chance(rng, 0.5)
                                                           : false;
        if (u[k].keep)
            *last = k;
    }
    if (!nu || torn <= 0 || !fl_rng_chance(rng, torn))
        return SIZE_MAX;
    if (*last == SIZE_MAX)
        u[ *last = 0].keep = true;
    return *last;
}

/* A crash of a file holding unsynced overwrites: its n records (those after a blocking sync
 * already cut) and its overwrites issued before cut are unsynced writes in one issue order,
 * chosen among as for appends alone. A dropped record below the last kept one reads back as
 * zeros, a dropped overwrite as the zeros it replaced; either is a hole (untrusted) when it
 * comes before a kept write and took nonzero bytes away. */
void fl__sd_crash_mixed(fl_simdisk *d, sd_file *f, size_t n, uint64_t cut,
                        fl_simdisk_crash_mode mode, double torn, fl_rng *rng)
{
    size_t np = f->n_patches;
    while (np > 0 && f->patches[np - 1].stamp > cut)
        np--;
    size_t nu = n - f->durable + np, last = SIZE_MAX, tear = SIZE_MAX;
    sd_unsynced *u = calloc(nu ? nu : 1, sizeof(*u));
    if (u) { /* without memory: nothing unsynced survives */
        merge(f, n, np, u);
        tear = choose(nu, u, mode, torn, rng, &last);
    } else {
        nu = 0;
    }
    bool hole = false;
    size_t count = f->durable;
    for (size_t k = 0; k < nu; k++)
        if (!u[k].patch && u[k].keep)
            count = u[k].i + 1;
    for (size_t k = 0; k < nu; k++) {
        const sd_rec *r = &f->recs[u[k].i];
        if (u[k].patch || u[k].keep || u[k].i >= count)
            continue;
        hole |= !fl__sd_all_zero(f->bytes.data + r->off, r->len);
        memset(f->bytes.data + r->off, 0, r->len);
    }
    size_t last_len = count ? f->recs[count - 1].len : 0;
    if (tear != SIZE_MAX && !u[tear].patch && last_len)
        last_len = (size_t)fl_rng_below(rng, last_len);
    fl__sd_file_cut(d, f, count, last_len); /* clips the overwrites too */
    f->durable = count;
    bool *kept = calloc(f->n_patches ? f->n_patches : 1, sizeof(*kept));
    for (size_t k = 0; kept && k < nu; k++) {
        sd_patch *p = &f->patches[u[k].i];
        if (!u[k].patch)
            continue;
        kept[u[k].i] = u[k].keep;
        if (k == tear && p->len) {
            size_t keep = (size_t)fl_rng_below(rng, p->len);
            memset(f->bytes.data + p->off + keep, 0, p->len - keep);
        }
        hole |= !u[k].keep && k < last && p->len;
    }
    for (size_t j = 0; j < f->n_patches; j++)
        if (!kept || !kept[j])
            memset(f->bytes.data + f->patches[j].off, 0, f->patches[j].len);
    d->untrusted += hole; /* recovery may refuse, rightly */
    free(kept);
    free(u);
    f->patch_base += f->n_patches; /* what is left is durable */
    f->n_patches = 0;
}

int fl__sd_patches_copy(sd_file *dst, const sd_file *src)
{
    dst->patches = NULL;
    dst->cap_patches = 0;
    if (!src->n_patches)
        return 0;
    dst->patches = malloc(src->n_patches * sizeof(*dst->patches));
    if (!dst->patches)
        return FL_ENOMEM;
    memcpy(dst->patches, src->patches, src->n_patches * sizeof(*dst->patches));
    dst->cap_patches = src->n_patches;
    return 0;
}

void fl__sd_patches_check(const sd_file *f)
{
    for (size_t i = 0; i < f->n_patches; i++) {
        FL_ASSERT(f->patches[i].off + f->patches[i].len <= f->bytes.len);
        FL_ASSERT(i == 0 || f->patches[i].stamp > f->patches[i - 1].stamp);
    }
}

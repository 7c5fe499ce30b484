/* test_freer.c: the freeing thread (freer.h): every pointer handed over is freed by the time
 * it stops (ASan builds would report the rest as leaks), whatever was still queued, and a
 * freer without its thread frees on the caller's. */
#include "test.h"

#include "faultline/assert.h"
#include "faultline/freer.h"

#include <stdlib.h>

static void **batch(size_t n)
{
    void **p = malloc(n * sizeof(*p));
    FL_ASSERT(p);
    for (size_t i = 0; i < n; i++) {
        p[i] = malloc(200 + i % 64);
        FL_ASSERT(p[i]);
    }
    return p;
}

TEST(freer_frees_every_batch_given_by_the_time_it_stops)
{
    fl_freer f;
    CHECK_EQ(fl_freer_start(&f), 0);
    CHECK(f.up);
    size_t total = 0;
    for (size_t k = 1; k <= 50; k++) {
        fl_freer_give(&f, batch(k * 37), k * 37);
        total += k * 37;
    }
    fl_freer_stop(&f); /* what is still queued is freed before it returns */
    uint64_t batches, given, freed;
    fl_freer_counts(&f, &batches, &given, &freed);
    CHECK_EQ(batches, 50u);
    CHECK_EQ(given, total);
    CHECK_EQ(freed, total);
    CHECK(!f.up);
    CHECK(f.head == NULL);
}

TEST(freer_without_its_thread_frees_on_the_callers)
{
    fl_freer f;
    CHECK_EQ(fl_freer_start(&f), 0);
    fl_freer_stop(&f);
    fl_freer_give(&f, batch(100), 100); /* stopped: freed here and now */
    uint64_t batches, given, freed;
    fl_freer_counts(&f, &batches, &given, &freed);
    CHECK_EQ(given, 100u);
    CHECK_EQ(freed, 100u);
    fl_freer_stop(&f); /* again: nothing to do */
}

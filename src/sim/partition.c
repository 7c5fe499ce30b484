/* partition.c: pure builders of connectivity matrices (which directed links are up).
 *
 * Invariant: every builder leaves each node connected to itself and touches only rows and
 * columns 1..n; a builder given n or an id out of range returns FL_EINVAL and leaves an empty
 * matrix (n = 0), which fl_sim_set_conn refuses. */
#include "faultline/error.h"
#include "faultline/sim.h"

#include <string.h>

static uint64_t all_bits(uint32_t n)
{
    return n >= 64 ? UINT64_MAX : ((uint64_t)1 << n) - 1;
}

static bool id_ok(uint32_t n, fl_node_id id)
{
    return id >= 1 && id <= n;
}

/* Every node alone; FL_EINVAL (and n = 0) when n is out of range. */
static int init_empty(fl_sim_conn *c, uint32_t n)
{
    memset(c, 0, sizeof(*c));
    if (n < 1 || n > FL_SIM_NODES_MAX)
        return FL_EINVAL;
    c->n = n;
    for (uint32_t i = 0; i < n; i++)
        c->can[i] = (uint64_t)1 << i;
    return 0;
}

static int refuse(fl_sim_conn *c)
{
    memset(c, 0, sizeof(*c));
    return FL_EINVAL;
}

int fl_sim_conn_full(fl_sim_conn *c, uint32_t n)
{
    int rc = init_empty(c, n);
    for (uint32_t i = 0; !rc && i < n; i++)
        c->can[i] = all_bits(n);
    return rc;
}

int fl_sim_conn_block(fl_sim_conn *c, fl_node_id from, fl_node_id to)
{
    if (!id_ok(c->n, from) || !id_ok(c->n, to))
        return FL_EINVAL;
    if (from != to)
        c->can[from - 1] &= ~((uint64_t)1 << (to - 1));
    return 0;
}

int fl_sim_conn_allow(fl_sim_conn *c, fl_node_id from, fl_node_id to)
{
    if (!id_ok(c->n, from) || !id_ok(c->n, to))
        return FL_EINVAL;
    c->can[from - 1] |= (uint64_t)1 << (to - 1);
    return 0;
}

bool fl_sim_conn_can(const fl_sim_conn *c, fl_node_id from, fl_node_id to)
{
    if (!id_ok(c->n, from) || !id_ok(c->n, to))
        return false;
    return (c->can[from - 1] >> (to - 1)) & 1;
}

/* Connects every pair inside the group given as a bit mask. */
static void connect_group(fl_sim_conn *c, uint64_t group)
{
    for (uint32_t i = 0; i < c->n; i++)
        if ((group >> i) & 1)
            c->can[i] |= group;
}

int fl_sim_conn_halves(fl_sim_conn *c, uint32_t n)
{
    if (init_empty(c, n))
        return FL_EINVAL;
    uint64_t first = all_bits(n / 2);
    connect_group(c, first);
    connect_group(c, all_bits(n) & ~first);
    return 0;
}

int fl_sim_conn_random_halves(fl_sim_conn *c, uint32_t n, fl_rng *r)
{
    if (init_empty(c, n))
        return FL_EINVAL;
    uint32_t order[FL_SIM_NODES_MAX];
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    for (uint32_t i = n; i > 1; i--) { /* Fisher-Yates */
        uint32_t j = (uint32_t)fl_rng_below(r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    uint64_t first = 0;
    for (uint32_t i = 0; i < n / 2; i++)
        first |= (uint64_t)1 << order[i];
    connect_group(c, first);
    connect_group(c, all_bits(n) & ~first);
    return 0;
}

int fl_sim_conn_isolate(fl_sim_conn *c, uint32_t n, fl_node_id id)
{
    if (fl_sim_conn_full(c, n) || !id_ok(n, id))
        return refuse(c);
    for (fl_node_id j = 1; j <= n; j++) {
        fl_sim_conn_block(c, id, j);
        fl_sim_conn_block(c, j, id);
    }
    return 0;
}

int fl_sim_conn_majorities_ring(fl_sim_conn *c, uint32_t n)
{
    if (init_empty(c, n))
        return FL_EINVAL;
    uint32_t majority = n / 2 + 1;
    uint32_t k = majority / 2; /* the least k with 2k + 1 >= majority */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t d = 1; d <= k; d++) {
            c->can[i] |= (uint64_t)1 << ((i + d) % n);
            c->can[i] |= (uint64_t)1 << ((i + n - d) % n);
        }
    return 0;
}

int fl_sim_conn_bridge(fl_sim_conn *c, uint32_t n, fl_node_id bridge)
{
    if (init_empty(c, n) || !id_ok(n, bridge))
        return refuse(c);
    uint64_t rest = all_bits(n) & ~((uint64_t)1 << (bridge - 1));
    uint64_t first = 0;
    uint32_t taken = 0;
    for (uint32_t i = 0; i < n && taken < (n - 1) / 2; i++)
        if ((rest >> i) & 1) {
            first |= (uint64_t)1 << i;
            taken++;
        }
    connect_group(c, first);
    connect_group(c, rest & ~first);
    c->can[bridge - 1] = all_bits(n);
    for (uint32_t i = 0; i < n; i++)
        c->can[i] |= (uint64_t)1 << (bridge - 1);
    return 0;
}

int fl_sim_conn_one_way(fl_sim_conn *c, uint32_t n, fl_node_id a, fl_node_id b)
{
    if (fl_sim_conn_full(c, n) || fl_sim_conn_block(c, a, b))
        return refuse(c);
    return 0;
}

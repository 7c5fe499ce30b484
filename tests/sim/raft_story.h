/* raft_story.h: the small vocabulary the scripted Raft stories share (test_raft_stories.c,
 * test_raft_snapshot.c, test_raft_membership.c): one simulated cluster at a time, built from a
 * Raft and a simulator configuration, and helpers that read like the story. Header-only
 * (static functions), like server_rig.h; each story file includes it once. */
#ifndef FL_RAFT_STORY_H
#define FL_RAFT_STORY_H

#include "test.h"

#include "faultline/assert.h"
#include "faultline/raft_sim.h"

#include <stdio.h>

typedef struct story {
    fl_sim *sim;
    fl_raft_sim rs;
    uint32_t n;
} story;

static story S;

/* Creates the cluster (not started: set S.rs fields, then story_start). The disks sync in
 * 2 ms unless sc says otherwise. */
static void story_create(const fl_raft_config *rc, fl_sim_config *sc)
{
    memset(&S, 0, sizeof(S));
    S.n = sc->nodes;
    char why[160];
    FL_ASSERT(fl_raft_sim_create(&S.rs, rc, NULL, sc, &S.sim, why, sizeof(why)) == 0);
}

static void story_start(void)
{
    FL_ASSERT(fl_sim_start_all(S.sim) == 0);
}

/* Simulator defaults for a story: seed, n nodes, 2 ms syncs. */
static void story_sim_config(fl_sim_config *sc, uint32_t n, uint64_t seed)
{
    fl_sim_config_default(sc);
    sc->seed = seed;
    sc->nodes = n;
    sc->disk_sync = fl_sim_dist_constant(2 * FL_NS_PER_MS);
}

/* Ends the story; returns whether a violation was found (printed; on stdout if expected). */
static bool end_found(bool expected)
{
    const fl_sim_violation *v = fl_sim_get_violation(S.sim);
    bool found = v->found;
    if (found)
        fprintf(expected ? stdout : stderr, "  %sviolation: %s\n", expected ? "expected " : "",
                v->reason);
    fl_sim_destroy(S.sim);
    fl_raft_sim_free(&S.rs);
    return found;
}

/* Ends a story that must not violate anything. */
static void end(void)
{
    CHECK(!end_found(false));
}

static void run_for_ms(uint64_t ms)
{
    fl_sim_run_until(S.sim, fl_sim_time(S.sim) + ms * FL_NS_PER_MS);
}

static const fl_raft *node(fl_node_id id)
{
    return fl_raft_sim_node(S.sim, id);
}

static fl_node_id leader(void)
{
    return fl_raft_sim_leader(S.sim);
}

/* Proposes cmd at node at; its index, or 0 if refused. */
static fl_index propose(fl_node_id at, const char *cmd)
{
    fl_index index = 0;
    int rc = fl_raft_sim_propose(S.sim, at, cmd, (uint32_t)strlen(cmd), &index, NULL);
    return rc == 0 ? index : 0;
}

/* Cuts node id off from every other node (both directions). */
__attribute__((unused)) static void isolate(fl_node_id id)
{
    fl_sim_conn c;
    fl_sim_conn_isolate(&c, S.n, id);
    fl_sim_set_conn(S.sim, &c);
}

#endif

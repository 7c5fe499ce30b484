/* swim_world.h: measured SWIM scenarios in the simulator: a cluster of SWIM nodes
 * (swim_sim.h) plus the bookkeeping that turns membership changes into figures: detection
 * times of crashes, false positives, broadcast spread, partition healing, load under churn.
 * Used by `faultline sim --protocol swim`, the property campaigns in tests/sim and
 * bench/bench_swim.c. Deterministic: a world is one seeded sim. */
#ifndef FAULTLINE_SWIM_WORLD_H
#define FAULTLINE_SWIM_WORLD_H

#include "faultline/swim_sim.h"

typedef struct fl_swim_world_config {
    uint64_t seed;
    uint32_t nodes;
    fl_swim_config swim; /* template (id ignored) */
    double loss;         /* on every link */
    fl_sim_dist delay;   /* one-way */
    bool check_invariants;
    size_t events_max;
    uint32_t join_seeds;  /* 0: a static cluster; else join mode (swim_sim.h), seeds 1..this */
    bool addr_first_hand; /* join mode: addresses learned only from a member's own packets */
} fl_swim_world_config;

/* Defaults: 100 nodes, SWIM defaults (1 s period, 500 ms timeout, gossip every 200 ms to 3,
 * Lifeguard), no loss, delay uniform 0.5..2 ms, 4M events, a static cluster. */
void fl_swim_world_config_default(fl_swim_world_config *c);

typedef struct fl_swim_world {
    fl_swim_world_config cfg;
    fl_sim *sim;
    fl_swim_sim ss;
    /* per member (index id): */
    fl_time_ns *first_suspect_ns; /* first SUSPECT/DEAD about it by anyone since watch() */
    fl_time_ns *first_dead_ns;    /* first DEAD about it by anyone since watch() */
    fl_time_ns *all_dead_ns;      /* when dead_votes reached `expect` */
    uint32_t *dead_votes;         /* observers holding it DEAD or LEFT */
    uint32_t *suspect_votes;      /* observers holding it SUSPECT */
    fl_time_ns *watch_ns;         /* watch start (FL_TIME_NEVER: not watched) */
    uint32_t expect;              /* observers needed for all_dead */
    bool *healthy;                /* never crashed nor paused in the measured window */
    /* episodes about healthy members: the first observer starts suspecting it (no other held it
     * SUSPECT) / the first observer declares it DEAD (no other held it DEAD) */
    uint64_t false_suspicions;
    uint64_t false_deaths;
    /* broadcast tracking: the one (origin, seq) being followed */
    fl_node_id bc_origin;
    uint32_t bc_seq;
    fl_time_ns bc_start_ns;
    fl_time_ns *bc_at_ns; /* delivery time per node, NEVER = not yet */
    uint32_t bc_count;
    /* join: per node, when it started and when its view first held all nodes live */
    fl_time_ns *started_ns;
    fl_time_ns *full_view_ns;
} fl_swim_world;

/* Builds the sim and starts every node (join mode: only the seeds; fl_swim_world_start starts
 * the others). 0, or an FL_E code with a message in why. */
int fl_swim_world_init(fl_swim_world *w, const fl_swim_world_config *c, char *why, size_t why_size);
void fl_swim_world_free(fl_swim_world *w);
int fl_swim_world_run_until(fl_swim_world *w, fl_time_ns t);
/* Starts measuring member id's detection from now; expect = observers needed. */
void fl_swim_world_watch(fl_swim_world *w, fl_node_id id);
/* Starts a node that is down (never started, or crashed) now. */
int fl_swim_world_start(fl_swim_world *w, fl_node_id id);
/* Crash id now and watch it. */
int fl_swim_world_crash(fl_swim_world *w, fl_node_id id);
/* Node `origin` broadcasts len bytes now; delivery times are recorded. */
int fl_swim_world_broadcast(fl_swim_world *w, fl_node_id origin, size_t len);
/* Does every up node see every up node alive and no up node as dead? */
bool fl_swim_world_converged(const fl_swim_world *w);
/* Members that some up node holds DEAD although they are up and reachable. */
uint32_t fl_swim_world_wrongly_dead(const fl_swim_world *w);

/* ---- scenarios ------------------------------------------------------------------------------ */

#define FL_SWIM_DIV_MAX   1024
#define FL_SWIM_CURVE_MAX 256 /* points of the broadcast's delivery curve */
#define FL_SWIM_VIEW_MAX                                                                           \
    2048 /* samples of the members' views (one per second; later ones                              \
          * are dropped) */

typedef struct fl_swim_figures {
    /* crash */
    uint32_t crashes;
    double first_suspect_s[256]; /* per crash, seconds after the crash */
    double first_dead_s[256];    /* per crash, seconds; < 0: not reached */
    double all_dead_s[256];      /* per crash, seconds; < 0: not reached */
    double crash_at_s[256];      /* per crash, when it happened */
    uint32_t undetected;         /* crashes some live member never marked dead */
    uint64_t false_deaths;       /* about members that were up */
    uint64_t false_suspicions;
    /* broadcast */
    double bc_999_s, bc_100_s; /* time to 99.9% and 100% of live receivers; < 0: never */
    uint32_t bc_missing;       /* receivers that never got it */
    /* the delivery curve: after t seconds, this fraction of the receivers had it (at most
     * FL_SWIM_CURVE_MAX points taken evenly from the sorted delivery times) */
    uint32_t n_curve;
    float curve_t_s[FL_SWIM_CURVE_MAX];
    float curve_frac[FL_SWIM_CURVE_MAX];
    /* partition */
    double split_detect_s;  /* until 99% of cross pairs are dead/reaped; < 0: never */
    double split_dead_frac; /* at the heal: (member, other-side member) pairs dead or reaped */
    double heal_s;          /* after heal, until converged; < 0: never */
    /* view divergence over time (partition): sampled every second from the split until
     * converged after the heal; fraction = mean over up members of |live members in its view -
     * members up on its side| / members up on its side (0: every view exact) */
    uint32_t n_div;
    double div_t_s[FL_SWIM_DIV_MAX]; /* since the split */
    double div_frac[FL_SWIM_DIV_MAX];
    /* members as seen over time (crash, partition): every second, the mean over up members of
     * how many members their view holds alive, suspect, and dead (or left, not yet reaped) */
    uint32_t n_view;
    float view_t_s[FL_SWIM_VIEW_MAX];
    float view_alive[FL_SWIM_VIEW_MAX];
    float view_suspect[FL_SWIM_VIEW_MAX];
    float view_dead[FL_SWIM_VIEW_MAX];
    /* load */
    double msgs_per_member_s, bytes_per_member_s, updates_per_member_s;
    /* join storm */
    double join_s;                           /* storm start until every node sees all; < 0: never */
    double join_node_p50_s, join_node_max_s; /* each node: its start until it sees all */
    uint64_t join_suspicions;                /* episodes (as false_suspicions) from the storm on */
    uint64_t join_suspects;                  /* suspicions started by anyone (stats.suspicions) */
    uint64_t join_deaths;                    /* DEAD declared by anyone */
    uint64_t join_no_address;                /* sends dropped for want of an address */
    uint64_t join_syncs;                     /* STATE messages sent */
    double join_packets_per_member_s;        /* from the storm until converged */
    /* run */
    double sim_s;
    uint64_t events;
    uint64_t trace_hash;
} fl_swim_figures;

/* Crash `crashes` random distinct nodes one after another, `spacing_ns` apart, after a warm-up;
 * measure first suspicion and all-live-members-mark-dead for each. */
int fl_swim_scn_crash(const fl_swim_world_config *c, uint32_t crashes, fl_time_ns spacing_ns,
                      fl_swim_figures *f, char *why, size_t why_size);
/* After a warm-up node 1 broadcasts; spread measured over `window_ns`. */
int fl_swim_scn_broadcast(const fl_swim_world_config *c, fl_time_ns window_ns, fl_swim_figures *f,
                          char *why, size_t why_size);
/* duration_ns of steady state with `paused` flaky members: healthy stretches (mean 20 s)
 * alternate with, in turn, a pause of uniform [pause_lo, pause_hi] and a 10 s slow stretch
 * whose receive path lags uniform [pause_lo, pause_hi] (fl_swim_sim_set_lag); counts
 * DEAD/SUSPECT episodes about the members that are never flaky. */
int fl_swim_scn_false_positives(const fl_swim_world_config *c, fl_time_ns duration_ns,
                                uint32_t paused, fl_time_ns pause_lo, fl_time_ns pause_hi,
                                fl_swim_figures *f, char *why, size_t why_size);
/* Two halves (groups) for split_ns, then heal; measure detection and convergence. */
int fl_swim_scn_partition(const fl_swim_world_config *c, fl_time_ns split_ns, fl_time_ns limit_ns,
                          fl_swim_figures *f, char *why, size_t why_size);
/* Join storm (join mode; c->join_seeds 0 means 1): the seeds run alone for a second, then
 * every other node starts at a uniformly random time within storm_ns, knowing only the
 * seeds; measured until every node sees all nodes alive (at most limit_ns), then 10 s more
 * for late suspicions. Every node is healthy: any suspicion is false. */
int fl_swim_scn_join(const fl_swim_world_config *c, fl_time_ns storm_ns, fl_time_ns limit_ns,
                     fl_swim_figures *f, char *why, size_t why_size);
/* Every `every_ns` a random up node crashes and a random down node restarts (down ones stay
 * down for at least one interval); load per member per second over duration_ns. */
int fl_swim_scn_churn(const fl_swim_world_config *c, fl_time_ns duration_ns, fl_time_ns every_ns,
                      fl_swim_figures *f, char *why, size_t why_size);

#endif

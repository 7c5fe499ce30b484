/* sim3.c: a program built against an installed faultline (pkg-config --cflags --libs faultline)
 * by tests/scripts/test_install.sh: a 3-node Raft cluster in the deterministic simulator
 * through the public API, a crash of the leader under client load, the safety checker on.
 * Prints the outcome; exit 0 when every check held and writes committed after the crash. */
#include <faultline/raft_sim.h>
#include <faultline/sim.h>

#include <stdio.h>

static unsigned proposed;

static void propose(fl_sim *sim, void *arg)
{
    (void)arg;
    fl_node_id leader = fl_raft_sim_leader(sim);
    if (leader && fl_raft_sim_propose(sim, leader, "set k v", 7, NULL, NULL) == 0)
        proposed++;
    fl_sim_schedule(sim, fl_sim_time(sim) + 5 * FL_NS_PER_MS, propose, NULL);
}

static void crash_leader(fl_sim *sim, void *arg)
{
    (void)arg;
    fl_node_id leader = fl_raft_sim_leader(sim);
    if (leader)
        fl_sim_crash(sim, leader);
}

int main(void)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = 42;
    sc.nodes = 3;
    fl_raft_sim rs;
    fl_sim *sim;
    char why[160];
    if (fl_raft_sim_create(&rs, &rc, NULL, &sc, &sim, why, sizeof(why))) {
        fprintf(stderr, "sim3: %s\n", why);
        return 1;
    }
    fl_sim_start_all(sim);
    fl_sim_schedule(sim, 0, propose, NULL);
    fl_sim_schedule(sim, 2 * FL_NS_PER_S, crash_leader, NULL);
    int rc_run = fl_sim_run_until(sim, 5 * FL_NS_PER_S);
    fl_node_id leader = fl_raft_sim_leader(sim);
    fl_index commit = leader ? fl_raft_commit_of(fl_raft_sim_node(sim, leader)) : 0;
    bool ok = rc_run == 0 && rs.violation.len == 0 && leader != 0 && commit > proposed / 2;
    printf("sim3: 3 nodes, %u proposals, leader %u after a crash, commit index %llu, %s\n",
           proposed, leader, (unsigned long long)commit, ok ? "checks held" : "FAILED");
    fl_sim_destroy(sim);
    fl_raft_sim_free(&rs);
    return ok ? 0 : 1;
}

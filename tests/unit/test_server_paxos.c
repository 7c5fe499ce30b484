/* test_server_paxos.c: real `faultline server --protocol paxos` processes on loopback, as
 * test_server_faults.c does for Raft: killing the leader with SIGKILL gives a new leader and
 * loses no acknowledged write, and the killed node, restarted on its WAL, catches up; a
 * history recorded by `faultline bench` across a leader kill is linearizable; what Paxos
 * does not have (membership changes, leadership transfer) is refused with the reason; a Raft
 * node refuses a Paxos data directory. RESP clients see the same replies as from Raft. */
#include "server_rig.h"

static const char *const paxos_args[4] = {"--protocol", "paxos", NULL, NULL};

static void rig_paxos(rig *r, int n)
{
    rig_start_all(r, n, paxos_args);
}

TEST(server_paxos_kill_leader_loses_no_acknowledged_write)
{
    rig_kill_leader_case(paxos_args);
}

TEST(server_paxos_status_names_the_protocol)
{
    static rig r;
    rig_paxos(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    char out[2048];
    CHECK(rc_cmd(r.client_port[1], out, sizeof(out), "FL.STATUS", NULL, NULL, NULL));
    CHECK(strstr(out, "protocol:paxos") != NULL);
    CHECK(rc_cmd(r.client_port[1], out, sizeof(out), "INFO", "raft", NULL, NULL));
    CHECK(strstr(out, "# Paxos") != NULL);
    CHECK(rig_stop(&r));
}

TEST(server_paxos_refuses_raft_only_commands_and_a_raft_directory)
{
    static rig r;
    rig_paxos(&r, 3);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    char out[256], id[8];
    snprintf(id, sizeof(id), "%d", leader % 3 + 1);
    CHECK(rc_cmd(r.client_port[leader], out, sizeof(out), "FL.TRANSFER", id, NULL, NULL));
    CHECK(strstr(out, "-ERR not supported: leadership transfer is Raft's") == out);
    CHECK(rc_cmd(r.client_port[leader], out, sizeof(out), "FL.REMOVE", id, NULL, NULL));
    CHECK(strstr(out, "-ERR not supported: membership changes are Raft's") == out);
    CHECK(rig_set(&r, leader, "x", "1", 3000));
    CHECK(rig_stop(&r));
}

static void kill_at_1s(pid_t leader)
{
    rig_sleep_ms(1000);
    kill(leader, SIGKILL);
}

TEST(server_paxos_bench_history_linearizable_across_leader_kill)
{
    rig_bench_under_fault(paxos_args, kill_at_1s);
}

/* A data directory belongs to the protocol that wrote it: a Raft node refuses a Paxos WAL,
 * naming both, rather than reading a promise as a term. */
TEST(server_raft_refuses_a_paxos_data_directory)
{
    static rig r;
    rig_paxos(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    CHECK(rig_set(&r, 1, "x", "1", 3000));
    CHECK_EQ(rig_kill(&r, 1, SIGTERM), 0);
    r.extra[0] = NULL; /* Raft, on the same directory */
    rig_start(&r, 1);
    int status = -1;
    for (int i = 0; i < 100 && waitpid(r.pid[1], &status, WNOHANG) == 0; i++)
        rig_sleep_ms(50);
    r.pid[1] = 0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char path[200], line[512];
    snprintf(path, sizeof(path), "%s/n1.log", r.dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    bool said = false;
    while (f && fgets(line, sizeof(line), f))
        said |= strstr(line, "written by a paxos node; this node runs raft") != NULL;
    if (f)
        fclose(f);
    CHECK(said);
    CHECK(rig_stop(&r));
}

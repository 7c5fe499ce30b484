/* embed_raft.c: hosting faultline's Raft core in your own program, with your own transport and
 * storage: what an embedder writes (docs/architecture.md, the persistence contract).
 *
 * Three nodes live in this process. The transport is a queue of encoded messages (the wire
 * codec's bytes, as a socket would carry them), delivered a tick later. The storage is one
 * append-only file per node: each persist request is a record (length, hard state, the index
 * the log is cut at, the entries), fsync'ed before the core hears PERSISTED. The program
 * proposes 20 commands, crashes node 3 half way (its memory is dropped), restarts it from its
 * file, and checks that every node applied the same commands in the same order.
 *
 *     cc embed_raft.c $(pkg-config --cflags --libs faultline) -o embed_raft && ./embed_raft DIR */
#include <faultline/buf.h>
#include <faultline/raft.h>
#include <faultline/wire.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODES   3
#define QUEUE   4096
#define TICK_NS (1000 * 1000) /* one loop turn is a millisecond of our clock */

typedef struct node {
    fl_raft raft;
    bool up;
    int fd;             /* its log file */
    fl_raft_entry *log; /* what the file holds, replayed (entries own their data) */
    size_t n_log;
    fl_term term;
    fl_node_id vote;
    uint64_t digest, applied; /* a hash chained over the commands it applied */
} node;

typedef struct packet {
    fl_node_id to;
    fl_buf bytes;
} packet;

static node nodes[NODES + 1];
static packet queue[QUEUE];
static size_t q_head, q_count;
static fl_time_ns now;
static const char *dir;
static fl_raft_entry scratch[FL_WIRE_ENTRIES_MAX];

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* ---- storage: records of persist requests ---- */

static void log_cut_append(node *n, fl_index first, size_t count, const fl_raft_entry *e)
{
    for (size_t i = first - 1; i < n->n_log; i++)
        free((void *)n->log[i].data);
    n->n_log = first - 1;
    n->log = realloc(n->log, (n->n_log + count + 1) * sizeof(*n->log));
    for (size_t i = 0; i < count; i++) {
        uint8_t *d = malloc(e[i].len + 1);
        if (e[i].len) /* an entry may carry no bytes (and no pointer) */
            memcpy(d, e[i].data, e[i].len);
        n->log[n->n_log++] =
            (fl_raft_entry){.term = e[i].term, .type = e[i].type, .len = e[i].len, .data = d};
    }
}

static void store(node *n, const fl_raft_update *up)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_put_u32(&b, 0); /* length, patched below */
    fl_buf_put_u64(&b, up->persist.hard_state ? up->persist.term : n->term);
    fl_buf_put_u32(&b, up->persist.hard_state ? up->persist.vote : n->vote);
    fl_buf_put_u64(&b, up->persist.first_index);
    fl_buf_put_u32(&b, (uint32_t)up->persist.n_entries);
    for (size_t i = 0; i < up->persist.n_entries; i++) {
        const fl_raft_entry *e = &up->persist.entries[i];
        fl_buf_put_u64(&b, e->term);
        fl_buf_put_u8(&b, e->type);
        fl_buf_put_u32(&b, e->len);
        fl_buf_put_bytes(&b, e->data, e->len);
    }
    fl_buf_patch_u32(&b, 0, (uint32_t)b.len - 4);
    if (write(n->fd, b.data, b.len) != (ssize_t)b.len || fsync(n->fd) != 0)
        die("log write"); /* a failed fsync: stop, never carry on */
    fl_buf_free(&b);
    n->term = up->persist.hard_state ? up->persist.term : n->term;
    n->vote = up->persist.hard_state ? up->persist.vote : n->vote;
    log_cut_append(n, up->persist.first_index, up->persist.n_entries, up->persist.entries);
}

/* At a start: replays the file into the node's durable state. */
static void replay(node *n)
{
    off_t size = lseek(n->fd, 0, SEEK_END);
    uint8_t *all = malloc((size_t)size + 1);
    if (pread(n->fd, all, (size_t)size, 0) != size)
        die("log read");
    fl_reader r;
    fl_reader_init(&r, all, (size_t)size);
    while (fl_reader_left(&r) >= 4) {
        size_t at = r.pos;
        uint32_t len = fl_read_u32(&r);
        n->term = fl_read_u64(&r);
        n->vote = fl_read_u32(&r);
        fl_index first = fl_read_u64(&r);
        uint32_t count = fl_read_u32(&r);
        for (uint32_t i = 0; i < count && i < FL_WIRE_ENTRIES_MAX; i++) {
            scratch[i].term = fl_read_u64(&r);
            scratch[i].type = fl_read_u8(&r);
            scratch[i].len = fl_read_u32(&r);
            scratch[i].data = fl_read_bytes(&r, scratch[i].len);
        }
        if (r.err || r.pos - at != 4 + (size_t)len) { /* torn by a crash mid-write: cut */
            if (ftruncate(n->fd, (off_t)at) != 0)
                die("truncate");
            break;
        }
        log_cut_append(n, first, count, scratch);
    }
    free(all);
}

/* ---- the host: turning updates into effects ---- */

static void send_msgs(const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_msgs; i++) {
        if (q_count == QUEUE)
            continue; /* a full network drops: Raft retransmits */
        packet *p = &queue[(q_head + q_count++) % QUEUE];
        const fl_raft_msg *m = &fl_raft_msgs_of(up)[i];
        p->to = m->to;
        fl_buf_reset(&p->bytes);
        fl_wire_raft_encode(m, &p->bytes);
    }
}

static void apply(node *n, const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_apply; i++) {
        const fl_raft_entry *e = &up->apply[i];
        if (e->type != FL_RAFT_ENTRY_NORMAL)
            continue; /* the core's own entries (no-ops, configurations) */
        for (uint32_t k = 0; k < e->len; k++)
            n->digest = (n->digest ^ e->data[k]) * 1099511628211ull;
        n->applied++;
    }
}

/* One event in, its update's effects out: persist (then tell the core it is durable), send,
 * apply. */
static int step(fl_node_id id, fl_raft_event *ev)
{
    node *n = &nodes[id];
    fl_raft_update up;
    ev->now_ns = now;
    int rc = fl_raft_step(&n->raft, ev, &up);
    uint64_t seq = up.persist.seq;
    if (seq)
        store(n, &up); /* durable before the core may count or acknowledge it */
    send_msgs(&up);
    apply(n, &up);
    if (seq)
        step(id, &(fl_raft_event){.type = FL_RAFT_EV_PERSISTED, .u.seq = seq});
    return rc;
}

static void start(fl_node_id id)
{
    node *n = &nodes[id];
    char path[512];
    snprintf(path, sizeof(path), "%s/node%u.log", dir, id);
    n->fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0644);
    if (n->fd < 0)
        die(path);
    replay(n);
    fl_raft_config c;
    fl_raft_config_default(&c, id);
    c.n_voters = NODES;
    for (uint32_t i = 0; i < NODES; i++)
        c.voters[i] = i + 1;
    c.seed = id * 7919u;
    fl_raft_durable d = {n->term, n->vote, 1, n->n_log, n->log, NULL};
    if (fl_raft_init(&n->raft, &c, &d, now) != 0)
        die("raft init");
    n->up = true;
    n->digest = n->applied = 0; /* the state machine is volatile: rebuilt by re-applying */
}

static void crash(fl_node_id id)
{
    node *n = &nodes[id];
    fl_raft_close(&n->raft);
    close(n->fd);
    log_cut_append(n, 1, 0, NULL); /* only the file remains */
    free(n->log);
    n->log = NULL;
    n->up = false;
}

static fl_node_id leader(void)
{
    for (fl_node_id i = 1; i <= NODES; i++)
        if (nodes[i].up && fl_raft_role_of(&nodes[i].raft) == FL_RAFT_LEADER)
            return i;
    return 0;
}

/* One millisecond: deliver what was sent, then tick every live node. */
static void turn(void)
{
    now += TICK_NS;
    for (size_t k = q_count; k > 0; k--, q_count--) {
        packet *p = &queue[q_head];
        q_head = (q_head + 1) % QUEUE;
        fl_raft_msg m;
        if (nodes[p->to].up &&
            fl_wire_raft_decode(p->bytes.data, p->bytes.len, &m, scratch, FL_WIRE_ENTRIES_MAX) == 0)
            step(p->to, &(fl_raft_event){.type = FL_RAFT_EV_RECEIVE, .u.msg = &m});
    }
    for (fl_node_id i = 1; i <= NODES; i++)
        if (nodes[i].up)
            step(i, &(fl_raft_event){.type = FL_RAFT_EV_TICK});
}

int main(int argc, char **argv)
{
    dir = argc > 1 ? argv[1] : ".";
    for (size_t i = 0; i < QUEUE; i++)
        fl_buf_init(&queue[i].bytes);
    for (fl_node_id i = 1; i <= NODES; i++)
        start(i);
    int proposed = 0;
    for (int t = 0; t < 20000 && (proposed < 20 || nodes[1].applied < 20 || nodes[2].applied < 20 ||
                                  nodes[3].applied < 20 || !nodes[3].up);
         t++) {
        turn();
        fl_node_id l = leader();
        if (l && proposed < 20 && t % 10 == 0) {
            char cmd[32];
            int len = snprintf(cmd, sizeof(cmd), "set x %d", proposed);
            fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE,
                                .u.propose = {(const uint8_t *)cmd, (uint32_t)len}};
            proposed += step(l, &ev) == 0;
        }
        if (proposed == 10 && nodes[3].up && nodes[3].applied >= 5) {
            printf("node 3 crashes after applying %llu commands\n",
                   (unsigned long long)nodes[3].applied);
            crash(3); /* mid-run: node 3 loses everything but its file */
        }
        if (proposed == 20 && !nodes[3].up)
            start(3);
    }
    bool same = true;
    for (fl_node_id i = 1; i <= NODES; i++) {
        printf("node %u: applied %llu commands, digest %016llx, term %llu\n", i,
               (unsigned long long)nodes[i].applied, (unsigned long long)nodes[i].digest,
               (unsigned long long)fl_raft_term_of(&nodes[i].raft));
        same &= nodes[i].applied == 20 && nodes[i].digest == nodes[1].digest;
    }
    printf("%s\n", same ? "all three nodes applied the same 20 commands (node 3 restarted "
                          "from its file)"
                        : "the nodes disagree");
    for (fl_node_id i = 1; i <= NODES; i++)
        crash(i);
    for (size_t i = 0; i < QUEUE; i++)
        fl_buf_free(&queue[i].bytes);
    return same ? 0 : 1;
}

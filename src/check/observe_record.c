/* observe_record.c: the recorder (observe.h): growable, bounded input arrays a runner fills
 * during a run, with role changes deduplicated per node.
 *
 * Invariants: every count <= its cap and <= entries_max; node[i], leader[i], term[i] hold the
 * last role recorded for node[i]; node ids are unique. A node lookup is a linear scan: O(nodes),
 * nodes <= FL_OBSERVE_NODES_MAX (consensus clusters have a handful). */
#include "faultline/observe.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

void fl_observe_recorder_init(fl_observe_recorder *r)
{
    memset(r, 0, sizeof(*r));
    r->entries_max = FL_OBSERVE_RECORDER_ENTRIES_MAX;
}

void fl_observe_recorder_free(fl_observe_recorder *r)
{
    free(r->roles);
    free(r->service);
    free(r->faults);
    free(r->node);
    free(r->leader);
    free(r->term);
    memset(r, 0, sizeof(*r));
}

/* Makes room for one more element in *arr (count, cap). */
static int grow(void **arr, size_t count, size_t *cap, size_t elem, size_t max)
{
    FL_ASSERT(count <= *cap);
    if (count >= max)
        return FL_EFULL;
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    n = n > max ? max : n;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return FL_ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

static int node_slot(fl_observe_recorder *r, fl_node_id node, size_t *slot)
{
    for (size_t i = 0; i < r->node_count; i++) {
        if (r->node[i] == node) {
            *slot = i;
            return 0;
        }
    }
    if (r->node_count >= FL_OBSERVE_NODES_MAX)
        return FL_ETOOBIG;
    if (r->node_count == r->node_cap) {
        size_t n = r->node_cap ? r->node_cap * 2 : 8;
        fl_node_id *ids = realloc(r->node, n * sizeof(*ids));
        if (ids)
            r->node = ids;
        bool *l = realloc(r->leader, n * sizeof(*l));
        if (l)
            r->leader = l;
        fl_term *t = realloc(r->term, n * sizeof(*t));
        if (t)
            r->term = t;
        if (!ids || !l || !t)
            return FL_ENOMEM;
        r->node_cap = n;
    }
    *slot = r->node_count++;
    r->node[*slot] = node;
    r->leader[*slot] = false;
    r->term[*slot] = 0;
    return 0;
}

int fl_observe_record_role(fl_observe_recorder *r, fl_time_ns t, fl_node_id node, bool is_leader,
                           fl_term term)
{
    size_t slot;
    int rc = node_slot(r, node, &slot);
    if (rc)
        return rc;
    if (r->leader[slot] == is_leader && r->term[slot] == term)
        return 0;
    rc = grow((void **)&r->roles, r->role_count, &r->role_cap, sizeof(*r->roles), r->entries_max);
    if (rc)
        return rc;
    r->roles[r->role_count++] = (fl_observe_role){t, node, is_leader, term};
    r->leader[slot] = is_leader;
    r->term[slot] = term;
    return 0;
}

int fl_observe_record_down(fl_observe_recorder *r, fl_time_ns t, fl_node_id node)
{
    size_t slot;
    int rc = node_slot(r, node, &slot);
    return rc ? rc : fl_observe_record_role(r, t, node, false, r->term[slot]);
}

int fl_observe_record_service(fl_observe_recorder *r, fl_time_ns t, fl_node_id node, fl_term term,
                              fl_observe_service_kind kind)
{
    int rc = grow((void **)&r->service, r->service_count, &r->service_cap, sizeof(*r->service),
                  r->entries_max);
    if (rc)
        return rc;
    r->service[r->service_count++] = (fl_observe_service){t, node, term, (uint8_t)kind};
    return 0;
}

int fl_observe_fault_begin(fl_observe_recorder *r, fl_time_ns t, const char *kind, size_t *id)
{
    int rc = grow((void **)&r->faults, r->fault_count, &r->fault_cap, sizeof(*r->faults),
                  r->entries_max);
    if (rc)
        return rc;
    fl_observe_fault *f = &r->faults[r->fault_count];
    memset(f, 0, sizeof(*f));
    f->start_ns = t;
    f->end_ns = FL_TIME_NEVER;
    if (kind) {
        size_t n = strlen(kind);
        n = n < FL_OBSERVE_FAULT_KIND_SIZE - 1 ? n : FL_OBSERVE_FAULT_KIND_SIZE - 1;
        memcpy(f->kind, kind, n);
    }
    *id = r->fault_count++;
    return 0;
}

int fl_observe_fault_end(fl_observe_recorder *r, size_t id, fl_time_ns t)
{
    if (id >= r->fault_count || t < r->faults[id].start_ns)
        return FL_EINVAL;
    r->faults[id].end_ns = t;
    return 0;
}

void fl_observe_recorder_input(const fl_observe_recorder *r, fl_observe_input *in)
{
    in->roles = r->roles;
    in->role_count = r->role_count;
    in->service = r->service;
    in->service_count = r->service_count;
    in->faults = r->faults;
    in->fault_count = r->fault_count;
    in->counters = r->counters;
}

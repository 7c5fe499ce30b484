/* schedule.c: the nemesis's fault kinds, their defaults, and the usual schedule: one fault of
 * a given length every interval, calm first, kinds in turn. The schedule is plain data
 * (fl_nem_fault), so a scenario file can fill it as well. */
#include "faultline/nemesis.h"

#include <string.h>

static const char *const kind_names[FL_NEM_KIND_COUNT] = {
    "kill",  "pause",  "restart",    "isolate-one", "isolate-leader", "halves",
    "ring",  "bridge", "one-way",    "delay",       "throttle",       "drop",
    "stall", "clock",  "disk-fsync", "disk-torn",   "fork-hang",
};

static const char *const who_names[] = {"default",  "random",   "leader",
                                        "minority", "majority", "all"};

const char *fl_nem_kind_name(fl_nem_kind k)
{
    return (unsigned)k < FL_NEM_KIND_COUNT ? kind_names[k] : "?";
}

bool fl_nem_kind_on_process(fl_nem_kind k)
{
    return k == FL_NEM_KILL || k == FL_NEM_PAUSE || k == FL_NEM_RESTART || k == FL_NEM_CLOCK ||
           k == FL_NEM_DISK_FSYNC || k == FL_NEM_DISK_TORN || k == FL_NEM_FORK_HANG;
}

bool fl_nem_kind_parse(const char *s, size_t n, fl_nem_kind *out)
{
    for (int k = 0; k < FL_NEM_KIND_COUNT; k++)
        if (strlen(kind_names[k]) == n && !strncmp(kind_names[k], s, n)) {
            *out = (fl_nem_kind)k;
            return true;
        }
    if (n == 11 && !strncmp(s, "isolate-node", n)) { /* the name for isolate-one */
        *out = FL_NEM_ISOLATE_ONE;
        return true;
    }
    return false;
}

const char *fl_nem_who_name(fl_nem_who w)
{
    return (unsigned)w < sizeof(who_names) / sizeof(who_names[0]) ? who_names[w] : "?";
}

bool fl_nem_who_parse(const char *s, fl_nem_who *out)
{
    for (size_t i = 0; i < sizeof(who_names) / sizeof(who_names[0]); i++)
        if (!strcmp(s, who_names[i])) {
            *out = (fl_nem_who)i;
            return true;
        }
    return false;
}

void fl_nem_fault_default(fl_nem_fault *f, fl_nem_kind kind)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->who = FL_NEM_WHO_DEFAULT;
    f->delay_ns = 50 * FL_NS_PER_MS;
    f->jitter_ns = 20 * FL_NS_PER_MS;
    f->rate_bps = 64 * 1024;
    f->clock_offset_ns = 5 * (int64_t)FL_NS_PER_S;
    f->clock_rate = 0;
}

size_t fl_nem_schedule_build(const fl_nem_fault *kinds, size_t n_kinds, fl_time_ns duration_ns,
                             fl_time_ns interval_ns, fl_time_ns length_ns, fl_nem_fault *out,
                             size_t max)
{
    if (!n_kinds || !interval_ns || !length_ns || length_ns > interval_ns)
        return 0;
    size_t count = 0;
    for (fl_time_ns end = interval_ns; end <= duration_ns && count < max; end += interval_ns) {
        out[count] = kinds[count % n_kinds];
        out[count].start_ns = end - length_ns;
        out[count].length_ns = length_ns;
        count++;
    }
    return count;
}

void fl_nem_config_default(fl_nem_config *c)
{
    memset(c, 0, sizeof(*c));
    c->nodes = 3;
    c->seed = 1;
    c->duration_ns = 60 * FL_NS_PER_S;
    c->workload = FL_RUN_REGISTER;
    c->clients = 10;
    c->read_share = -1;
    c->cas_share = -1;
    c->op_timeout_ns = 1 * FL_NS_PER_S;
    c->liveness_ns = 10 * FL_NS_PER_S;
    c->startup_ns = 30 * FL_NS_PER_S;
    c->restart_ns = 10 * FL_NS_PER_S;
    c->poll_ns = 10 * FL_NS_PER_MS;
    c->compaction_stall_ns = 10 * FL_NS_PER_S;
}

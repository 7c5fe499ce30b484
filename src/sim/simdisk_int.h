/* simdisk_int.h: the simulated disk's private state (simdisk.h), shared by simdisk.c (files,
 * names, the file interface, records) and simdisk_fault.c (syncs, crashes, copies). */
#ifndef FAULTLINE_SIMDISK_INT_H
#define FAULTLINE_SIMDISK_INT_H

#include "faultline/simdisk.h"

#define SD_FDS_MAX   32
#define SD_SYNCS_MAX 4096
#define SD_NONE      UINT32_MAX /* no file: a directory sync, or a job's end with nothing to sync */
#define SD_DIR       (UINT32_MAX - 1)
#define SD_RECORDS   "records" /* the file of the raw record API */
#define SD_FILES_MAX 4096

typedef struct sd_rec {
    size_t off;
    size_t len;
    uint64_t stamp;
} sd_rec;

/* An overwrite of zeros inside a file (simdisk_patch.c): its bytes are in the file's bytes;
 * until a sync covers it a crash may revert it to the zeros it replaced. */
typedef struct sd_patch {
    size_t off;
    size_t len;
    uint64_t stamp;
} sd_patch;

/* A file (an inode): its writes back to back in bytes, and overwrites not yet durable. */
typedef struct sd_file {
    bool live;
    uint32_t gen;  /* bumped when the slot is freed: a pending sync of the old file is void */
    uint32_t refs; /* open descriptors */
    fl_buf bytes;
    sd_rec *recs;
    size_t count, cap;
    size_t durable;    /* records [0, durable) survive any crash */
    sd_patch *patches; /* overwrites not yet durable, oldest first, numbered from patch_base */
    size_t n_patches, cap_patches;
    uint64_t patch_base;
} sd_file;

typedef struct sd_name {
    char name[FL_FS_NAME_MAX];
    uint32_t ino;
} sd_name;

typedef struct sd_names {
    sd_name *v;
    size_t n, cap;
} sd_names;

enum { SD_CREATE = 1, SD_RENAME, SD_UNLINK };

typedef struct sd_dirop {
    uint8_t kind;
    uint32_t ino; /* the file it creates, moves or unlinks */
    uint64_t stamp;
    char name[FL_FS_NAME_MAX];
    char to[FL_FS_NAME_MAX]; /* SD_RENAME */
} sd_dirop;

typedef struct sd_sync {
    uint64_t seq;
    uint64_t token;
    uint64_t stamp;  /* when it was called */
    uint32_t target; /* a file slot, SD_DIR or SD_NONE */
    uint32_t gen;    /* the file's generation when called */
    uint64_t upto;   /* file: records [0, upto); SD_DIR: directory operations numbered < upto */
    uint64_t pupto;  /* file: its overwrites numbered < pupto */
    bool fail, lie, blocking, notify;
} sd_sync;

struct fl_simdisk {
    fl_fs fs;
    fl_simdisk_hooks hooks;
    fl_sim_node_stats *st;
    size_t bytes, bytes_max;
    uint64_t stamp;
    sd_file *files;
    size_t n_files; /* slots in use or freed */
    sd_names cur;   /* the directory as the node sees it */
    sd_names dur;   /* the directory as it survives a crash */
    sd_dirop *ops;  /* directory operations not yet durable, oldest first */
    size_t n_ops, cap_ops;
    uint64_t ops_base;       /* the number of ops[0] */
    int32_t fds[SD_FDS_MAX]; /* open descriptor -> file slot, -1 free */
    sd_sync *syncs;          /* ring of pending syncs */
    size_t syncs_head, syncs_count;
    uint64_t sync_seq;
    uint32_t fail_next, lie_next;
    bool in_job; /* running a job: its syncs do not block */
    /* a directory change became durable (a file renamed into place) and no file's sync has
     * completed since: fl_simdisk_split */
    bool dir_fresh;
    uint64_t job_first_seq; /* the first sync the running job queued */
    int job_result;
    uint64_t untrusted; /* lies completed, corruptions made */
};

/* simdisk.c */
sd_name *fl__sd_find(sd_names *ns, const char *name);
int fl__sd_names_put(sd_names *ns, const char *name, uint32_t ino);
void fl__sd_names_del(sd_names *ns, const char *name);
void fl__sd_file_cut(fl_simdisk *d, sd_file *f, size_t count, size_t last_len);
void fl__sd_gc(fl_simdisk *d);
/* simdisk_patch.c */
bool fl__sd_all_zero(const uint8_t *p, size_t n);
int fl__sd_patch(fl_simdisk *d, sd_file *f, const void *p, size_t n, size_t off);
void fl__sd_patches_durable(sd_file *f, uint64_t upto);
void fl__sd_patches_clip(sd_file *f, size_t end);
void fl__sd_crash_mixed(fl_simdisk *d, sd_file *f, size_t n, uint64_t cut,
                        fl_simdisk_crash_mode mode, double torn, fl_rng *rng);
int fl__sd_patches_copy(sd_file *dst, const sd_file *src);
void fl__sd_patches_check(const sd_file *f);
/* simdisk_fault.c */
int fl__sd_sync(fl_simdisk *d, uint32_t target, bool notify, uint64_t token, fl_errmsg *m);

#endif

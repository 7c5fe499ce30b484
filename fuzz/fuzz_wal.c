/* fuzz_wal.c: libFuzzer target for WAL recovery (storage/wal_recover.c): bytes from disk are
 * untrusted and must never crash, assert or hang the node.
 *
 * The input becomes the content of one segment file in a temporary directory. Flags in the
 * first byte: bit 0 prepends a valid segment header; bit 1 "repairs" the CRC and seq of the
 * first N well-framed records (N = second byte), so the fuzzer reaches torn tails and
 * corruption behind valid records instead of failing at the first checksum. Properties:
 *  1. fl_wal_open returns 0 or an error; never crashes.
 *  2. After a successful open, iteration yields exactly first..last, and appending, syncing
 *     and reopening succeeds with every record still there (recovery leaves a valid log);
 *     with bit 2, the append goes over zeros the WAL preallocates first (fl_wal_prefill, a
 *     zero tail recovery must keep as the end, docs/wal.md). */
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/wal.h"
#include "storage/wal_format.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void);

static void clear_dir(void)
{
    if (!dir[0]) {
        strcpy(dir, "/tmp/fl-fuzz-wal-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[128];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}

static void remove_dir(void)
{
    clear_dir();
    rmdir(dir);
}

/* Gives the first n well-framed records after the header a valid CRC and seq. */
static void repair(uint8_t *p, size_t size, size_t n)
{
    size_t off = WAL_HEADER_SIZE;
    for (uint64_t seq = 1; seq <= n && size - off >= WAL_REC_HEADER_SIZE; seq++) {
        uint32_t len = fl_get_u32le(p + off) % 64;
        if (size - off - WAL_REC_HEADER_SIZE < len)
            return;
        fl_put_u32le(p + off, len);
        fl_put_u64le(p + off + 8, seq);
        fl_put_u32le(p + off + 4, fl__wal_record_crc(p + off, len));
        off += WAL_REC_HEADER_SIZE + len;
    }
}

static void check_log(fl_wal *w)
{
    fl_wal_iter it;
    fl_wal_record r;
    if (fl_wal_iter_init(w, &it, 0) != 0)
        abort();
    uint64_t seq = fl_wal_first_seq(w);
    int rc;
    while ((rc = fl_wal_iter_next(&it, &r)) == 1)
        if (r.seq != seq++)
            abort();
    if (rc != 0 || seq != fl_wal_last_seq(w) + 1)
        abort();
    fl_wal_iter_close(&it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096)
        return 0;
    uint8_t flags = data[0], repair_n = data[1];
    data += 2;
    size -= 2;
    clear_dir();
    uint8_t *file = malloc(WAL_HEADER_SIZE + size);
    size_t len = 0;
    if (flags & 1) {
        fl__wal_encode_header(file, 1, 1);
        len = WAL_HEADER_SIZE;
    }
    memcpy(file + len, data, size);
    len += size;
    if ((flags & 3) == 3)
        repair(file, len, repair_n);
    char path[128];
    snprintf(path, sizeof(path), "%s/wal-00000000000000000001.seg", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, file, len) != (ssize_t)len)
        abort();
    close(fd);
    free(file);

    fl_wal w;
    fl_wal_config cfg = {.prefill = flags & 4 ? 256 : 0};
    if (fl_wal_open(&w, dir, &cfg) != 0)
        return 0;
    check_log(&w);
    uint64_t last = fl_wal_last_seq(&w);
    if ((flags & 4) && fl_wal_prefill(&w) != 0)
        abort();
    if (fl_wal_append(&w, "after", 5, NULL) != 0 || fl_wal_prefill(&w) != 0 || fl_wal_sync(&w) != 0)
        abort();
    fl_wal_close(&w);
    if (fl_wal_open(&w, dir, &cfg) != 0 || fl_wal_last_seq(&w) != last + 1)
        abort();
    check_log(&w);
    fl_wal_close(&w);
    return 0;
}

/* wal_format.h: private to the WAL: on-disk constants and the record/header codecs shared by
 * the writer (wal.c) and recovery (wal_recover.c). The format is specified in wal.c. */
#ifndef FAULTLINE_IO_WAL_FORMAT_H
#define FAULTLINE_IO_WAL_FORMAT_H

#include "faultline/wal.h"

#include <inttypes.h>

#define WAL_MAGIC0          0x46 /* 'F' */
#define WAL_MAGIC1          0x4C /* 'L' */
#define WAL_MAGIC2          0x57 /* 'W' */
#define WAL_MAGIC3          0x4C /* 'L' */
#define WAL_VERSION         2    /* written; 1 (no zero tails written) is read the same */
#define WAL_VERSION_MIN     1
#define WAL_HEADER_SIZE     32
#define WAL_REC_HEADER_SIZE 16
#define WAL_NAME_PREFIX     "wal-"
#define WAL_NAME_SUFFIX     ".seg"
#define WAL_NAME_DIGITS     20
#define WAL_NAME_LEN        (4 + WAL_NAME_DIGITS + 4)
#define WAL_NAME_SIZE       (WAL_NAME_LEN + 5) /* room for ".tmp" and the NUL */

_Static_assert(WAL_REC_HEADER_SIZE + (uint64_t)FL_WAL_RECORD_LEN_LIMIT < UINT32_MAX,
               "a record's size fits in 32 bits");

/* What is wrong with a record or header, in the order checks are made. */
enum wal_check {
    WAL_OK,
    WAL_TRUNC,   /* runs past the end of the file */
    WAL_BADLEN,  /* length field above FL_WAL_RECORD_LEN_LIMIT */
    WAL_BADCRC,  /* checksum mismatch */
    WAL_BADSEQ,  /* valid checksum, unexpected seq or segment number */
    WAL_BADMAGIC /* header only */
};

const char *fl__wal_check_text(int check);
void fl__wal_segment_name(char out[WAL_NAME_SIZE], uint64_t first_seq);
void fl__wal_encode_header(uint8_t out[WAL_HEADER_SIZE], uint64_t segno, uint64_t first_seq);
/* Checks the segment header; fills segno/first_seq/version. Never reads past size. */
int fl__wal_check_header(const uint8_t *p, size_t size, uint64_t *segno, uint64_t *first_seq,
                         uint16_t *version);
/* Checks the record at off: WAL_OK with *len (payload bytes) if it is whole, its checksum
 * matches and its seq is seq_want. Never reads past size. */
int fl__wal_check_record(const uint8_t *p, size_t size, size_t off, uint64_t seq_want,
                         uint32_t *len);
/* The checksum of an encoded record (len, seq and payload). */
uint32_t fl__wal_record_crc(const uint8_t *rec, uint32_t len);

/* Shared by the writer and recovery (wal.c). */
int fl__wal_latch(fl_wal *w, int code); /* sets the sticky error (if none) and returns it */
int fl__wal_sync_fd(fl_wal *w, int fd, const char *name); /* NULL: the last segment */
int fl__wal_sync_dir(fl_wal *w);
int fl__wal_segs_push(fl_wal *w, uint64_t segno, uint64_t first_seq);
int fl__wal_create_segment(fl_wal *w, uint64_t segno, uint64_t first_seq, int *fd_out);
int fl__wal_flush(fl_wal *w); /* writes buffered records, no sync */

#endif

/* crc32c.h: CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78), as used by
 * iSCSI, ext4 and most WALs. fl_crc32c(0, "123456789", 9) == 0xE3069283. */
#ifndef FAULTLINE_CRC32C_H
#define FAULTLINE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes. Uses SSE4.2 when the CPU has it. */
uint32_t fl_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table-driven version, exposed so tests can compare both paths. */
uint32_t fl_crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif

/* duration.h: parsing and printing durations for command lines and reports. */
#ifndef FAULTLINE_DURATION_H
#define FAULTLINE_DURATION_H

#include "faultline/types.h"

/* The one duration parser of every command line: "250ms", "30s", "2m", "1h", "500us",
 * "100ns", "1.5s" into ns; a bare number counts in bare_unit_ns (an option named --x-ms
 * takes milliseconds, --timeout seconds). No sign, no hex, no "inf". Returns 0, or
 * FL_ESYNTAX / FL_ERANGE for text that is not a duration. */
int fl_parse_duration_in(const char *s, fl_time_ns bare_unit_ns, fl_time_ns *out);
/* fl_parse_duration_in with a bare number in seconds. */
int fl_parse_duration(const char *s, fl_time_ns *out);
/* Parses an unsigned decimal integer in [min, max]. Returns 0, FL_ESYNTAX or FL_ERANGE. */
int fl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parses a decimal number in [min, max]. Returns 0, FL_ESYNTAX or FL_ERANGE. */
int fl_parse_double(const char *s, double min, double max, double *out);
/* Writes a short human form ("1.25 ms", "3.00 s") into out (at least 24 bytes). */
const char *fl_format_duration(fl_time_ns ns, char *out, size_t out_size);

#endif

/* check_out.h: the text that `faultline check` prints about a result (check_out.c). */
#ifndef FL_CHECK_OUT_H
#define FL_CHECK_OUT_H

#include "faultline/lincheck.h"

#include <stdio.h>

/* What the verdict line says besides the result. */
typedef struct check_show {
    const char *file;
    fl_model model;
    bool inferred; /* the model was inferred from the ops */
} check_show;

/* The model line when it was inferred, once. */
void check_print_model(FILE *out, const check_show *s);
/* The verdict line, the counterexample, the keys left undecided and the statistics. */
void check_print_result(FILE *out, const check_show *s, const fl_history *h,
                        const fl_lincheck_result *r);
/* The verdict for a model without a search: every linearizable history is sequentially
 * consistent. */
void check_print_implied(FILE *out, const check_show *s, const fl_history *h,
                         const fl_lincheck_result *lin);

#endif

/* error.c: names and texts of the FL_E... codes (one table, error.h). */
#include "faultline/error.h"

const char *fl_strerror(int code)
{
    switch (code) {
#define FL_ERROR_TEXT(name, value, text)                                                           \
    case value:                                                                                    \
        return text;
        FL_ERRORS(FL_ERROR_TEXT)
#undef FL_ERROR_TEXT
    }
    return "unknown error";
}

const char *fl_errname(int code)
{
    switch (code) {
#define FL_ERROR_NAME(name, value, text)                                                           \
    case value:                                                                                    \
        return #name;
        FL_ERRORS(FL_ERROR_NAME)
#undef FL_ERROR_NAME
    }
    return "FL_E?";
}

/* hiredis_client.c: Debian's hiredis (libhiredis-dev) against a faultline node: a pipeline of
 * 200 mixed commands, a transaction, expiry. Usage: hiredis_client PORT. Exit 0 when every
 * reply is what Redis would answer. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void want_str(redisReply *r, const char *s, const char *what)
{
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) ||
        strcmp(r->str, s) != 0) {
        fprintf(stderr, "hiredis: %s: got %s, want %s\n", what, r && r->str ? r->str : "?", s);
        failures++;
    }
}

static void want_int(redisReply *r, long long v, const char *what)
{
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != v) {
        fprintf(stderr, "hiredis: %s: got %lld, want %lld\n", what, r ? r->integer : -1, v);
        failures++;
    }
}

int main(int argc, char **argv)
{
    redisContext *c = redisConnect("127.0.0.1", argc > 1 ? atoi(argv[1]) : 6379);
    if (!c || c->err) {
        fprintf(stderr, "hiredis: cannot connect\n");
        return 1;
    }
    redisReply *r;
    for (int i = 0; i < 50; i++) { /* 200 commands in one pipeline */
        redisAppendCommand(c, "SET h:k %d", i);
        redisAppendCommand(c, "GET h:k");
        redisAppendCommand(c, "INCR h:c");
        redisAppendCommand(c, "GET h:c");
    }
    for (int i = 0; i < 50; i++) {
        char v[16];
        redisGetReply(c, (void **)&r);
        want_str(r, "OK", "SET");
        freeReplyObject(r);
        snprintf(v, sizeof(v), "%d", i);
        redisGetReply(c, (void **)&r);
        want_str(r, v, "GET after SET");
        freeReplyObject(r);
        redisGetReply(c, (void **)&r);
        want_int(r, i + 1, "INCR");
        freeReplyObject(r);
        snprintf(v, sizeof(v), "%d", i + 1);
        redisGetReply(c, (void **)&r);
        want_str(r, v, "GET after INCR");
        freeReplyObject(r);
    }
    r = redisCommand(c, "MULTI");
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "SET h:t 10"));
    freeReplyObject(redisCommand(c, "INCRBY h:t 5"));
    r = redisCommand(c, "EXEC");
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        fprintf(stderr, "hiredis: EXEC: not a 2-element array\n");
        failures++;
    } else {
        want_str(r->element[0], "OK", "EXEC[0]");
        want_int(r->element[1], 15, "EXEC[1]");
    }
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "SET h:e v EX 100"));
    r = redisCommand(c, "TTL h:e");
    want_int(r, 100, "TTL");
    freeReplyObject(r);
    redisFree(c);
    printf("hiredis: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}

/* test_metrics.c: the metrics registry's text format (metrics.h) read back by a parser and,
 * where installed, by promtool; the tiny HTTP responder (httpd.h) on loopback: /metrics, 404,
 * 405, an oversized request, the connection bound and slots coming back. */
#include "test.h"

#include "prom.h"

#include "faultline/error.h"
#include "faultline/httpd.h"
#include "faultline/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/socket.h>
#include <unistd.h>

static const double bounds[] = {0.001, 0.01, 0.1};

static void fill(fl_metrics *m)
{
    char l[FL_METRICS_LABELS_MAX];
    fl_metric *c = fl_metrics_get(m, "t_requests_total", "Requests.", FL_METRIC_COUNTER,
                                  fl_metrics_labels(l, "command", "get", "result", "ok"), NULL, 0);
    fl_metric_add(c, 3);
    fl_metric_add(c, 4);
    fl_metric *g = fl_metrics_get(m, "t_queue_bytes", "Queued \\ bytes\nsecond line.",
                                  FL_METRIC_GAUGE, NULL, NULL, 0);
    fl_metric_set(g, 12.5);
    fl_metric *h =
        fl_metrics_get(m, "t_latency_seconds", "Latency.", FL_METRIC_HISTOGRAM, NULL, bounds, 3);
    fl_metric_observe(h, 0.0005);
    fl_metric_observe(h, 0.001); /* on a bound: counted in that bucket (le) */
    fl_metric_observe(h, 0.05);
    fl_metric_observe(h, 7);
    /* a second series of the first family, registered later: rendered with its family */
    fl_metric_add(fl_metrics_get(m, "t_requests_total", "Requests.", FL_METRIC_COUNTER,
                                 fl_metrics_labels(l, "command", "a\"b\\c\nd", "result", "error"),
                                 NULL, 0),
                  1);
}

TEST(metrics_render_is_the_text_format)
{
    fl_metrics m;
    fl_metrics_init(&m);
    fill(&m);
    fl_buf out;
    fl_buf_init(&out);
    CHECK_EQ(fl_metrics_render(&m, &out), 0);
    fl_buf_put_u8(&out, 0);
    const char *t = (const char *)out.data;
    CHECK(prom_valid(t));
    CHECK(prom_value(t, "t_requests_total{command=\"get\",result=\"ok\"}") == 7);
    CHECK(prom_value(t, "t_requests_total{command=\"a\\\"b\\\\c\\nd\",result=\"error\"}") == 1);
    CHECK(prom_value(t, "t_queue_bytes") == 12.5);
    CHECK(prom_value(t, "t_latency_seconds_bucket{le=\"0.001\"}") == 2);
    CHECK(prom_value(t, "t_latency_seconds_bucket{le=\"0.01\"}") == 2);
    CHECK(prom_value(t, "t_latency_seconds_bucket{le=\"0.1\"}") == 3);
    CHECK(prom_value(t, "t_latency_seconds_bucket{le=\"+Inf\"}") == 4);
    CHECK(prom_value(t, "t_latency_seconds_count") == 4);
    CHECK(fabs(prom_value(t, "t_latency_seconds_sum") - 7.0515) < 1e-9);
    CHECK(strstr(t, "# HELP t_queue_bytes Queued \\\\ bytes\\nsecond line.\n") != NULL);
    /* one HELP / TYPE per family, its series together */
    const char *first = strstr(t, "# TYPE t_requests_total counter\n");
    CHECK(first && !strstr(first + 1, "# TYPE t_requests_total"));
    CHECK(strstr(first, "result=\"error\"} 1\n") < strstr(t, "# TYPE t_queue_bytes"));
    int ok = prom_promtool(t);
    if (ok < 0)
        printf("promtool check skipped: promtool is not installed\n");
    else
        CHECK_EQ(ok, 1);
    fl_buf_free(&out);
    fl_metrics_free(&m);
}

TEST(metrics_registry_keeps_one_series_per_labels_and_refuses_a_type_change)
{
    fl_metrics m;
    fl_metrics_init(&m);
    fl_metric *a = fl_metrics_get(&m, "t_x_total", "X.", FL_METRIC_COUNTER, "k=\"1\"", NULL, 0);
    CHECK(a != NULL);
    CHECK(fl_metrics_get(&m, "t_x_total", "X.", FL_METRIC_COUNTER, "k=\"1\"", NULL, 0) == a);
    CHECK(fl_metrics_get(&m, "t_x_total", "X.", FL_METRIC_COUNTER, "k=\"2\"", NULL, 0) != a);
    CHECK(fl_metrics_get(&m, "t_x_total", "X.", FL_METRIC_GAUGE, "k=\"3\"", NULL, 0) == NULL);
    fl_metric_add(NULL, 1); /* a series that could not be made costs nothing */
    fl_metric_observe(NULL, 1);
    CHECK_EQ(m.count, 2);
    fl_metrics_free(&m);
}

/* ---- the HTTP responder ------------------------------------------------------------------ */

static int serve(void *arg, const char *path, fl_buf *body, const char **type)
{
    fl_metrics *m = arg;
    if (strcmp(path, "/metrics") != 0)
        return 404;
    *type = "text/plain; version=0.0.4; charset=utf-8";
    return fl_metrics_render(m, body) ? 500 : 200;
}

typedef struct web {
    fl_loop loop;
    fl_httpd h;
    fl_metrics m;
    int port;
} web;

static void web_start(web *w)
{
    fl_errmsg e;
    fl_addr a;
    CHECK_EQ(fl_loop_init(&w->loop, NULL, &e), 0);
    fl_metrics_init(&w->m);
    fill(&w->m);
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", &a, &e), 0);
    CHECK_EQ(fl_httpd_start(&w->h, &w->loop, &a, serve, &w->m, &e), 0);
    CHECK_EQ(fl_httpd_local_addr(&w->h, &a, &e), 0);
    w->port = fl_addr_port(&a);
}

static void web_stop(web *w)
{
    fl_httpd_stop(&w->h);
    fl_metrics_free(&w->m);
    fl_loop_close(&w->loop);
}

static int web_connect(const web *w)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->port)};
    a.sin_addr.s_addr = htonl(0x7f000001);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    CHECK(rc == 0 || errno == EINPROGRESS);
    return fd;
}

/* Sends req on fd and runs the loop until the server closes: the whole response in out. */
static void web_exchange(web *w, int fd, const char *req, size_t req_len, fl_buf *out)
{
    size_t sent = 0;
    for (int i = 0; i < 2000; i++) {
        if (sent < req_len) {
            ssize_t k = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
            sent += k > 0 ? (size_t)k : 0;
        }
        CHECK_EQ(fl_loop_run_once(&w->loop, 1 * FL_NS_PER_MS), 0);
        char buf[4096];
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k > 0)
            fl_buf_put_bytes(out, buf, (size_t)k);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            break;
    }
    fl_buf_put_u8(out, 0);
}

static void get(web *w, const char *req, fl_buf *out)
{
    int fd = web_connect(w);
    web_exchange(w, fd, req, strlen(req), out);
    close(fd);
}

TEST(httpd_serves_metrics_and_refuses_the_rest)
{
    web w;
    web_start(&w);
    fl_buf out;
    fl_buf_init(&out);
    get(&w, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &out);
    const char *t = (const char *)out.data;
    CHECK(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(t, "Content-Type: text/plain; version=0.0.4") != NULL);
    const char *body = strstr(t, "\r\n\r\n");
    CHECK(body && atol(strstr(t, "Content-Length: ") + 16) == (long)strlen(body + 4));
    CHECK(prom_valid(body + 4));
    CHECK(prom_value(body + 4, "t_queue_bytes") == 12.5);
    fl_buf_reset(&out);
    get(&w, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", &out);
    CHECK(strncmp((const char *)out.data, "HTTP/1.1 200 OK", 15) == 0);
    fl_buf_reset(&out);
    get(&w, "HEAD /metrics HTTP/1.1\r\n\r\n", &out);
    CHECK(strstr((const char *)out.data, "\r\n\r\n")[4] == 0); /* no body */
    fl_buf_reset(&out);
    get(&w, "GET /other HTTP/1.1\r\n\r\n", &out);
    CHECK(strncmp((const char *)out.data, "HTTP/1.1 404", 12) == 0);
    fl_buf_reset(&out);
    get(&w, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &out);
    CHECK(strncmp((const char *)out.data, "HTTP/1.1 405", 12) == 0);
    fl_buf_reset(&out);
    get(&w, "garbage\r\n\r\n", &out);
    CHECK(strncmp((const char *)out.data, "HTTP/1.1 400", 12) == 0);
    fl_buf_reset(&out);
    static char big[FL_HTTPD_REQUEST_MAX + 2000];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    int fd = web_connect(&w);
    web_exchange(&w, fd, big, sizeof(big), &out);
    close(fd);
    CHECK(strncmp((const char *)out.data, "HTTP/1.1 431", 12) == 0);
    CHECK_EQ(w.h.requests, 6);
    fl_buf_free(&out);
    web_stop(&w);
}

TEST(httpd_bounds_connections_and_frees_their_slots)
{
    web w;
    web_start(&w);
    int fds[FL_HTTPD_CONNS_MAX + 1];
    for (int i = 0; i <= FL_HTTPD_CONNS_MAX; i++) {
        fds[i] = web_connect(&w);
        for (int k = 0; k < 5; k++)
            CHECK_EQ(fl_loop_run_once(&w.loop, 1 * FL_NS_PER_MS), 0);
    }
    /* silent clients hold every slot; the one over the bound was closed at once */
    CHECK_EQ(w.h.refused, 1);
    char c;
    CHECK(recv(fds[FL_HTTPD_CONNS_MAX], &c, 1, 0) <= 0);
    for (int i = 0; i <= FL_HTTPD_CONNS_MAX; i++)
        close(fds[i]);
    for (int k = 0; k < 20; k++)
        CHECK_EQ(fl_loop_run_once(&w.loop, 1 * FL_NS_PER_MS), 0);
    /* the slots came back: a request is answered */
    fl_buf out;
    fl_buf_init(&out);
    get(&w, "GET /metrics HTTP/1.1\r\n\r\n", &out);
    CHECK(strncmp((const char *)out.data, "HTTP/1.1 200", 12) == 0);
    fl_buf_free(&out);
    web_stop(&w);
}

/* test_shim_fork.c: the disk shim (tools/shim/flshim.c) across fork() in a threaded process.
 *
 * A faultline node forks a child for every snapshot (server_snap.c) while its sync worker and
 * reaper write, sync and close files through the shim. A fork taken while another thread held
 * the shim's lock left it held in the child for good: the child's first shimmed call (its
 * dup2) waited forever, and the node took no snapshot again (found by a soak of `faultline
 * nemesis` with --snapshot-every 100: a node's log grew by 150,000 entries, the verdict
 * clean). Here the shim is loaded with dlopen and its functions called directly: a thread
 * writes and syncs a file under FL_SHIM_DIR without pause while the test forks children that
 * each make one shimmed call and exit; every child must exit within 5 s. FL_TEST_SHIM names
 * another build of the library (the check that this test fails without the fix). */
#include "cli.h"
#include "test.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef int (*open_fn)(const char *, int, ...);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*fd_fn)(int);
typedef int (*dup2_fn)(int, int);

static struct {
    open_fn open;
    write_fn write;
    fd_fn fdatasync;
    dup2_fn dup2;
    int fd;
    atomic_bool stop;
} shim;

#define LOAD(h, var, name) (*(void **)(&(var)) = dlsym((h), (name)))

/* The shim's lock taken over and over, as a node's sync worker takes it. */
static void *writer(void *arg)
{
    (void)arg;
    char block[4096];
    memset(block, 'x', sizeof(block));
    while (!atomic_load(&shim.stop)) {
        if (shim.write(shim.fd, block, sizeof(block)) != (ssize_t)sizeof(block))
            break;
        (void)shim.fdatasync(shim.fd);
    }
    return NULL;
}

/* Whether pid exited within ms milliseconds; killed and reaped if not. */
static bool exits_within(pid_t pid, int ms)
{
    for (int i = 0; i < ms; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) && WEXITSTATUS(st) == 0;
        struct timespec t = {0, 1000 * 1000};
        nanosleep(&t, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return false;
}

TEST(shim_fork_child_not_stuck_on_the_lock)
{
    char dir[] = "/tmp/fl-test-shimfork-XXXXXX", lib[4200], path[128];
    CHECK(mkdtemp(dir) != NULL);
    const char *given = getenv("FL_TEST_SHIM");
    snprintf(lib, sizeof(lib), "%s", given ? given : fl_test_faultline());
    if (!given) {
        char *slash = strrchr(lib, '/');
        CHECK(slash != NULL);
        snprintf(slash + 1, sizeof(lib) - (size_t)(slash + 1 - lib), "libflshim.so");
    }
    setenv("FL_SHIM_DIR", dir, 1); /* read by the library's constructor */
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL);
    LOAD(h, shim.open, "open");
    LOAD(h, shim.write, "write");
    LOAD(h, shim.fdatasync, "fdatasync");
    LOAD(h, shim.dup2, "dup2");
    CHECK(shim.open && shim.write && shim.fdatasync && shim.dup2);
    snprintf(path, sizeof(path), "%s/wal", dir);
    shim.fd = shim.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(shim.fd >= 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, writer, NULL), 0);
    int forks = 0, stuck = 0;
    for (; forks < 300 && !stuck; forks++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) { /* what a snapshot child does first: a shimmed dup2 */
            int rc = shim.dup2(shim.fd, 200);
            _exit(rc == 200 ? 0 : 1);
        }
        stuck += !exits_within(pid, 5000);
    }
    atomic_store(&shim.stop, true);
    pthread_join(t, NULL);
    if (stuck)
        printf("a child stuck after %d forks\n", forks);
    CHECK_EQ(stuck, 0);
    close(shim.fd);
    unlink(path);
    rmdir(dir);
    unsetenv("FL_SHIM_DIR");
}

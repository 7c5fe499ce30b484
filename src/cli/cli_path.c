/* cli_path.c: output and input locations checked before a command does its work (cli_opt.h):
 * a run of minutes must not end in "cannot write" and exit 0. */
#include "cli/cli_opt.h"

#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_MAX_LEN 4096

/* "faultline CMD: --opt PATH: what: strerror(err)" (no "--opt " for a positional). */
static int path_error(const char *cmd, const char *opt, const char *path, const char *what, int err,
                      int status)
{
    return fl_cli_error(cmd, status, "%s%s%s: %s: %s", opt ? opt : "", opt ? " " : "", path, what,
                        strerror(err));
}

/* mkdir -p; 0 or the errno of the step that failed. */
static int make_dirs(const char *dir)
{
    char buf[PATH_MAX_LEN];
    size_t len = strlen(dir);
    if (len == 0)
        return ENOENT;
    if (len >= sizeof(buf))
        return ENAMETOOLONG;
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return errno;
    return 0;
}

int fl_cli_out_dir(const char *cmd, const char *opt, const char *dir)
{
    int err = make_dirs(dir);
    struct stat st;
    if (err)
        return path_error(cmd, opt, dir, "cannot create the directory", err, FL_EXIT_CANTCREAT);
    err = stat(dir, &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (err)
        return path_error(cmd, opt, dir, "cannot write there", err, FL_EXIT_CANTCREAT);
    char probe[PATH_MAX_LEN + 64];
    snprintf(probe, sizeof(probe), "%s/.faultline-probe-%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return path_error(cmd, opt, dir, "cannot write there", errno, FL_EXIT_CANTCREAT);
    close(fd);
    unlink(probe);
    return 0;
}

int fl_cli_out_file(const char *cmd, const char *opt, const char *path)
{
    struct stat st;
    bool existed = stat(path, &st) == 0;
    if (existed && S_ISDIR(st.st_mode))
        return path_error(cmd, opt, path, "cannot write", EISDIR, FL_EXIT_CANTCREAT);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return path_error(cmd, opt, path, "cannot write", errno, FL_EXIT_CANTCREAT);
    close(fd);
    if (!existed)
        unlink(path);
    return 0;
}

int fl_cli_in_file(const char *cmd, const char *opt, const char *path)
{
    if (!strcmp(path, "-"))
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return path_error(cmd, opt, path, "cannot read", errno, FL_EXIT_NOINPUT);
    struct stat st;
    int err = fstat(fd, &st) ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    close(fd);
    return err ? path_error(cmd, opt, path, "cannot read", err, FL_EXIT_NOINPUT) : 0;
}

int fl_cli_in_dir(const char *cmd, const char *opt, const char *dir)
{
    struct stat st;
    if (stat(dir, &st))
        return path_error(cmd, opt, dir, "cannot read", errno, FL_EXIT_NOINPUT);
    if (!S_ISDIR(st.st_mode))
        return path_error(cmd, opt, dir, "cannot read", ENOTDIR, FL_EXIT_NOINPUT);
    if (access(dir, R_OK | X_OK))
        return path_error(cmd, opt, dir, "cannot read", errno, FL_EXIT_NOINPUT);
    return 0;
}

/*
 * safe_file.c - temporary file beside the target, O_EXCL|O_NOFOLLOW, the old
 * file's mode and owner kept, renamed into place; stale ones cleaned.  See
 * safe_file.h.  Not a general file library: only what the writers need.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "core/safe_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* at most this many bytes of NAME go into ".NAME.PID.XXXXXX.part" (the
 * whole must stay under NAME_MAX, 255) */
#define BASE_MAX 200

static size_t dir_len_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

int safe_file_open(const char *final, safe_file *sf)
{
    static _Atomic unsigned counter;
    memset(sf, 0, sizeof *sf);
    sf->fd = -1;
    size_t dl = dir_len_of(final);
    const char *base = final + dl;
    if (!*base) {
        errno = EISDIR;
        return -1;
    }
    size_t bl = strlen(base) > BASE_MAX ? BASE_MAX : strlen(base);
    size_t len = dl + bl + 48;
    sf->tmp = malloc(len);
    sf->final = strdup(final);
    if (!sf->tmp || !sf->final) {
        safe_file_abort(sf);
        errno = ENOMEM;
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned r = (unsigned)ts.tv_nsec * 2654435761u ^ (unsigned)ts.tv_sec ^
                     (counter++ * 40503u) ^ (unsigned)attempt * 977u;
        snprintf(sf->tmp, len, "%.*s.%.*s.%ld.%06x.part", (int)dl, final, (int)bl, base,
                 (long)getpid(), r & 0xffffffu);
        sf->fd = open(sf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (sf->fd >= 0) return 0;
        if (errno != EEXIST) break;
    }
    int e = errno;
    free(sf->tmp);
    sf->tmp = NULL;
    safe_file_abort(sf);
    errno = e;
    return -1;
}

FILE *safe_file_stream(safe_file *sf)
{
    if (sf->fp) return sf->fp;
    if (sf->fd < 0) {
        errno = EBADF;
        return NULL;
    }
    sf->fp = fdopen(sf->fd, "wb");
    return sf->fp;
}

/* The mode and owner of the regular file being replaced (not of a link's
 * target: a link is replaced itself). */
static void keep_mode_and_owner(int fd, const char *final)
{
    struct stat old;
    if (lstat(final, &old) != 0 || !S_ISREG(old.st_mode)) return;
    struct stat now;
    if (fstat(fd, &now) == 0 && (now.st_uid != old.st_uid || now.st_gid != old.st_gid)) {
        if (fchown(fd, old.st_uid, old.st_gid) != 0) { /* not permitted: the group, at least */
            if (fchown(fd, (uid_t)-1, old.st_gid) != 0) { /* keep ours */ }
        }
    }
    if (fchmod(fd, old.st_mode & 07777) != 0) { /* a file system without modes */ }
}

int safe_file_commit(safe_file *sf)
{
    int e = 0;
    if (sf->fd < 0 || !sf->tmp) {
        safe_file_abort(sf);
        errno = EBADF;
        return -1;
    }
    if (sf->fp && fflush(sf->fp) != 0) e = errno ? errno : EIO;
    if (!e && fsync(sf->fd) != 0 && errno != EINVAL) e = errno;
    if (!e) keep_mode_and_owner(sf->fd, sf->final);
    int rc = sf->fp ? fclose(sf->fp) : close(sf->fd);
    if (rc != 0 && !e) e = errno ? errno : EIO;
    sf->fp = NULL;
    sf->fd = -1;
    if (!e && rename(sf->tmp, sf->final) != 0) e = errno;
    if (e) {
        safe_file_abort(sf);
        errno = e;
        return -1;
    }
    free(sf->tmp);
    free(sf->final);
    sf->tmp = sf->final = NULL;
    return 0;
}

void safe_file_abort(safe_file *sf)
{
    int e = errno;
    if (sf->tmp) { /* a zeroed safe_file owns no descriptor */
        if (sf->fp) fclose(sf->fp);
        else if (sf->fd >= 0) close(sf->fd);
        unlink(sf->tmp);
    }
    sf->fp = NULL;
    sf->fd = -1;
    free(sf->tmp);
    free(sf->final);
    sf->tmp = sf->final = NULL;
    errno = e;
}

int safe_file_write(const char *final, const void *data, size_t n_bytes)
{
    safe_file sf;
    if (safe_file_open(final, &sf) != 0) return -1;
    const unsigned char *p = data;
    while (n_bytes > 0) {
        ssize_t w = write(sf.fd, p, n_bytes);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            safe_file_abort(&sf);
            errno = e;
            return -1;
        }
        p += w;
        n_bytes -= (size_t)w;
    }
    return safe_file_commit(&sf);
}

int safe_file_clean_stale_for(const char *path, int any_name)
{
    if (any_name) return safe_file_clean_stale(path, NULL);
    size_t dl = dir_len_of(path);
    if (!path[dl]) return 0;
    char *dir = dl ? strndup(path, dl) : strdup(".");
    if (!dir) return 0;
    int n = safe_file_clean_stale(dir, path + dl);
    free(dir);
    return n;
}

int safe_file_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  /* the lowest free: fd */
        if (nfd < 0) return -1;
        if (nfd != fd) {  /* cannot happen: fd was the lowest closed one */
            close(nfd);
            return -1;
        }
    }
    return 0;
}

int safe_file_pid_gone(long pid)
{
    if (pid <= 0 || pid == (long)getpid()) return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* The process id in ".NAME.PID.XXXXXX.part" when name has that form (and
 * NAME is base when base is given), else 0. */
static long stale_pid(const char *name, const char *base)
{
    size_t n = strlen(name);
    if (n < 1 + 1 + 1 + 1 + 1 + 6 + 5 || name[0] != '.' || strcmp(name + n - 5, ".part")) return 0;
    const char *hex = name + n - 5 - 6;
    if (strspn(hex, "0123456789abcdef") != 6 || hex[-1] != '.') return 0;
    const char *end = hex - 1, *p = end;
    while (p > name + 1 && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == end || p[-1] != '.' || p - 1 <= name + 1) return 0;
    if (base) {
        size_t bl = strlen(base) > BASE_MAX ? BASE_MAX : strlen(base);
        if ((size_t)(p - 1 - (name + 1)) != bl || strncmp(name + 1, base, bl)) return 0;
    }
    return strtol(p, NULL, 10);
}

int safe_file_clean_stale(const char *dir, const char *base)
{
    int e = errno;
    DIR *d = opendir(dir && *dir ? dir : ".");
    if (!d) {
        errno = e;
        return 0;
    }
    int fd = dirfd(d), removed = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        long pid = stale_pid(ent->d_name, base);
        if (pid <= 0 || !safe_file_pid_gone(pid)) continue;
        struct stat st;
        if (fstatat(fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid())
            continue;
        if (unlinkat(fd, ent->d_name, 0) == 0) removed++;
    }
    closedir(d);
    errno = e;
    return removed;
}

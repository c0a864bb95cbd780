/*
 * run_files.c - log.tsv cut to the checkpoint's step on resume; stale
 * temporary files of killed runs removed.  See run_files.h.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "train/run_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/safe_file.h"

/* The step of a log row ("STEP\t..." or "# dev STEP\t..."), -1 for others. */
static long row_step(const char *line)
{
    if (!strncmp(line, "# dev ", 6)) line += 6;
    if (*line < '0' || *line > '9') return -1;
    char *end;
    long s = strtol(line, &end, 10);
    return *end == '\t' ? s : -1;
}

/* Rewrite path without the rows after step; 0 when nothing needed it. */
static int cut_log(const char *path, long step)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    FILE *in = fdopen(fd, "r");
    if (!in) { close(fd); return -1; }
    safe_file sf = {.fd = -1};
    FILE *out = NULL;
    char *line = NULL;
    size_t cap = 0, kept_bytes = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        if (row_step(line) > step) {  /* the first row to drop: copy what came before */
            if (safe_file_open(path, &sf) != 0 || !(out = safe_file_stream(&sf))) { rc = -1; break; }
            rewind(in);
            for (size_t done = 0; done < kept_bytes; ) {
                char buf[8192];
                size_t want = kept_bytes - done < sizeof buf ? kept_bytes - done : sizeof buf;
                size_t got = fread(buf, 1, want, in);
                if (got == 0 || fwrite(buf, 1, got, out) != got) { rc = -1; break; }
                done += got;
            }
            while (rc == 0 && (n = getline(&line, &cap, in)) > 0)
                if (row_step(line) <= step && fwrite(line, 1, (size_t)n, out) != (size_t)n) rc = -1;
            break;
        }
        kept_bytes += (size_t)n;
    }
    free(line);
    fclose(in);
    if (out && rc == 0) return safe_file_commit(&sf);
    safe_file_abort(&sf);
    return rc;
}

FILE *run_log_open(const char *state_dir, long step)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/log.tsv", state_dir);
    if (cut_log(path, step) != 0) return NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "a");
    if (!f) close(fd);
    return f;
}

/* An older version's temporary name in dir: `stem` followed by what (".tmp"
 * exactly, or ".tmp" and digits), a regular file of ours untouched for an hour. */
static int old_tmp_name(const char *name, const char *stem, int digits)
{
    size_t sl = strlen(stem);
    if (stem[0] ? strncmp(name, stem, sl) != 0 : 0) return 0;
    const char *t = strstr(name + sl, ".tmp");
    if (!t || (stem[0] && t != name + sl)) return 0;
    t += 4;
    return digits ? *t && strspn(t, "0123456789") == strlen(t) : *t == 0;
}

static int clean_old(const char *dir, const char *stem, int digits, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!old_tmp_name(e->d_name, stem, digits)) continue;
        if (suffix) {  /* plots: "NAME.png.tmp" */
            size_t l = strlen(e->d_name), sl = strlen(suffix);
            if (l < sl || strcmp(e->d_name + l - sl, suffix)) continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid() || now - st.st_mtime < 3600)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) n++;
    }
    closedir(d);
    return n;
}

void run_clean_stale(const trainer_opts *o, FILE *log)
{
    char plots[4200], model[4200], voice[4200];
    snprintf(plots, sizeof plots, "%s/plots", o->state_dir);
    snprintf(model, sizeof model, "%s.safetensors", o->name);
    snprintf(voice, sizeof voice, "%s.json", o->name);
    int n = safe_file_clean_stale(o->state_dir, NULL) + safe_file_clean_stale(plots, NULL) +
            safe_file_clean_stale(o->models_dir, model) + safe_file_clean_stale(o->voices_dir, voice);
    n += clean_old(o->state_dir, "ckpt.safetensors", 1, NULL) + clean_old(o->state_dir, "features.bin", 0, NULL) +
         clean_old(plots, "", 0, ".png.tmp") + clean_old(o->models_dir, model, 1, NULL) +
         clean_old(o->voices_dir, voice, 0, NULL);
    if (n > 0 && log) fprintf(log, "tts-train: removed %d temporary file%s left by an interrupted run\n", n,
                              n == 1 ? "" : "s");
}

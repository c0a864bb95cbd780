/*
 * test_safety.c - src/core/safe_file.c, the one way tts writes a file: a
 * symbolic link planted at the target is replaced, its target never written;
 * the replaced file's mode and owner are kept; a failed write leaves the old
 * file; stale temporary files of dead processes are removed and nothing else
 * (live processes' files, other names, links); descriptors 0-2 are reopened
 * on /dev/null when closed, so no output file gets descriptor 2.  And
 * espeak-ng's data is looked at before espeak-ng reads it: a dictionary cut
 * short is named, never read (libespeak-ng crashes or speaks garbage on it),
 * and every dictionary installed passes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>

#include "core/safe_file.h"
#include "text/text.h"

static char root[] = "/tmp/tts-test-safety-XXXXXX";

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void assert_contents(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    assert_string_equal(buf, text);
}

static int count_entries(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | wc -l)\"", dir);
    int n = 0;
    for (; n < 100; n++) {
        char c2[800];
        snprintf(c2, sizeof c2, "%s -eq %d", cmd, n);
        if (system(c2) == 0) return n;
    }
    return -1;
}

/* A link planted at the target (the red team's `ln -s ~/precious.conf
 * out/ok1.wav`) is replaced by the new file; the file it pointed to is not
 * touched, nor its mode. */
static void test_link_replaced_not_followed(void **state)
{
    char dir[600], precious[600], target[600];
    snprintf(dir, sizeof dir, "%s/link", root);
    snprintf(precious, sizeof precious, "%s/precious.conf", root);
    snprintf(target, sizeof target, "%s/ok1.wav", dir);
    mkdir(dir, 0755);
    put(precious, "secret=1\n");
    chmod(precious, 0600);
    assert_int_equal(symlink(precious, target), 0);
    assert_int_equal(safe_file_write(target, "new", 3), 0);
    assert_contents(precious, "secret=1\n");
    struct stat st;
    assert_int_equal(stat(precious, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(lstat(target, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_contents(target, "new");
    assert_int_equal(count_entries(dir), 1);  /* no temporary file left */
}

/* An overwritten file keeps its mode (0600 stays 0600, not 0644) and, for a
 * process allowed to (root here), its owner. */
static void test_mode_and_owner_kept(void **state)
{
    char path[600];
    snprintf(path, sizeof path, "%s/private.json", root);
    put(path, "old");
    assert_int_equal(chmod(path, 0600), 0);
    int can_chown = geteuid() == 0 && chown(path, 4242, 4343) == 0;
    umask(022);
    assert_int_equal(safe_file_write(path, "new", 3), 0);
    assert_contents(path, "new");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    if (can_chown) {
        assert_int_equal(st.st_uid, 4242);
        assert_int_equal(st.st_gid, 4343);
    }
    /* a new file gets the usual mode */
    snprintf(path, sizeof path, "%s/fresh.json", root);
    assert_int_equal(safe_file_write(path, "x", 1), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
}

/* An aborted write leaves the old file and no temporary file; a missing
 * folder is ENOENT. */
static void test_abort_keeps_old(void **state)
{
    char dir[600], path[600];
    snprintf(dir, sizeof dir, "%s/abort", root);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    put(path, "old");
    safe_file sf;
    assert_int_equal(safe_file_open(path, &sf), 0);
    FILE *f = safe_file_stream(&sf);
    assert_non_null(f);
    fputs("half", f);
    assert_int_equal(count_entries(dir), 2);
    safe_file_abort(&sf);
    assert_contents(path, "old");
    assert_int_equal(count_entries(dir), 1);
    safe_file_abort(&sf);  /* twice: harmless */
    snprintf(path, sizeof path, "%s/no/such/file", dir);
    assert_int_equal(safe_file_open(path, &sf), -1);
    assert_int_equal(errno, ENOENT);
}

/* Stale temporary files: those of a dead process go, those of a live one
 * (ours, init's), other names and links stay. */
static void test_clean_stale(void **state)
{
    char dir[600], p[800];
    snprintf(dir, sizeof dir, "%s/stale", root);
    mkdir(dir, 0755);
    const char *gone[] = {".u1.wav.99999999.00ab12.part", ".ckpt.safetensors.99999998.ffffff.part"};
    char mine[100], init[100];
    snprintf(mine, sizeof mine, ".u2.wav.%ld.abcdef.part", (long)getpid());
    snprintf(init, sizeof init, ".u3.wav.1.abcdef.part");
    const char *keep[] = {mine, init, "u1.wav", ".u1.wav.99999999.00ab1.part", "x.99999999.00ab12.part",
                          ".u1.wav.99999999.00AB12.part"};
    for (int i = 0; i < 2; i++) { snprintf(p, sizeof p, "%s/%s", dir, gone[i]); put(p, "x"); }
    for (int i = 0; i < 6; i++) { snprintf(p, sizeof p, "%s/%s", dir, keep[i]); put(p, "x"); }
    snprintf(p, sizeof p, "%s/.link.wav.99999997.000000.part", dir);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    assert_int_equal(safe_file_clean_stale(dir, "other.wav"), 0);  /* another name: nothing */
    assert_int_equal(safe_file_clean_stale(dir, "u1.wav"), 1);
    assert_int_equal(safe_file_clean_stale(dir, NULL), 1);
    for (int i = 0; i < 6; i++) { snprintf(p, sizeof p, "%s/%s", dir, keep[i]); assert_int_equal(access(p, F_OK), 0); }
    assert_int_equal(count_entries(dir), 7);
}

/* `2>&-`: with descriptor 2 closed, the next file opened would get it, and
 * every warning would go into that file.  After safe_file_std_fds() it does
 * not. */
static void test_std_fds_reopened(void **state)
{
    char path[600];
    snprintf(path, sizeof path, "%s/out.bin", root);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(0);
        close(2);
        if (safe_file_std_fds() != 0) _exit(1);
        safe_file sf;
        if (safe_file_open(path, &sf) != 0) _exit(2);
        if (sf.fd <= 2) _exit(3);
        fprintf(stderr, "a warning\n");
        fflush(stderr);
        if (write(sf.fd, "data", 4) != 4 || safe_file_commit(&sf) != 0) _exit(4);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_contents(path, "data");
}

/* A copy of espeak-ng's data with en_dict cut short at several places, or
 * phondata missing: the check names the file; text_frontend_init refuses
 * it (before espeak-ng reads it) and says why.  Every dictionary installed
 * passes the check.  Runs first: espeak-ng is not yet initialized. */
static void test_espeak_data_checked(void **state)
{
    espeak_ng_InitializePath(NULL);
    const char *path = NULL;
    espeak_Info(&path);
    assert_non_null(path);
    char real[600];  /* a copy: espeak-ng's buffer changes with ESPEAK_DATA_PATH */
    snprintf(real, sizeof real, "%s", path);
    char dir[600], cmd[2000], why[600];
    snprintf(dir, sizeof dir, "%s/esp/espeak-ng-data", root);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/phontab %s/phonindex %s/phondata %s/intonations %s/en_dict %s/",
             dir, real, real, real, real, real, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(text_espeak_data_check(dir, "en-us", why, sizeof why), 0);
    struct stat st;
    char dict[700];
    snprintf(dict, sizeof dict, "%s/en_dict", dir);
    assert_int_equal(stat(dict, &st), 0);
    const long cuts[] = {0, 7, 9, 4000, 50000, st.st_size / 2, st.st_size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(cmd, sizeof cmd, "cp %s/en_dict %s && truncate -s %ld %s", real, dict, cuts[i], dict);
        assert_int_equal(system(cmd), 0);
        if (text_espeak_data_check(dir, "en-us", why, sizeof why) != -1)
            fail_msg("en_dict cut to %ld bytes passed the check", cuts[i]);
        assert_non_null(strstr(why, "en_dict"));
    }
    /* through the front end, before espeak-ng ever reads it */
    char parent[600];
    snprintf(parent, sizeof parent, "%s/esp", root);
    setenv("ESPEAK_DATA_PATH", parent, 1);
    assert_int_equal(text_frontend_init("en-us"), TTS_ERR_PHONEMIZER);
    assert_non_null(strstr(text_frontend_problem(), "en_dict is damaged or cut short"));
    snprintf(cmd, sizeof cmd, "cp %s/en_dict %s && rm %s/phondata", real, dict, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(text_frontend_init("en-us"), TTS_ERR_PHONEMIZER);
    assert_non_null(strstr(text_frontend_problem(), "phondata"));
    unsetenv("ESPEAK_DATA_PATH");
    assert_int_equal(text_frontend_init("en-us"), TTS_OK);
    assert_string_equal(text_frontend_problem(), "");

    /* no false alarm: every dictionary of the installed data */
    snprintf(cmd, sizeof cmd, "ls %s | sed -n 's/_dict$//p' > %s/dicts", real, root);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/dicts", root);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    char lang[64];
    int n = 0;
    while (fscanf(f, "%63s", lang) == 1) {
        if (text_espeak_data_check(real, lang, why, sizeof why) != 0) fail_msg("%s: %s", lang, why);
        n++;
    }
    fclose(f);
    assert_true(n > 50);
}

static int setup(void **state) { return mkdtemp(root) ? 0 : -1; }

static int teardown(void **state)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_espeak_data_checked),
        cmocka_unit_test(test_link_replaced_not_followed),
        cmocka_unit_test(test_mode_and_owner_kept),
        cmocka_unit_test(test_abort_keeps_old),
        cmocka_unit_test(test_clean_stale),
        cmocka_unit_test(test_std_fds_reopened),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

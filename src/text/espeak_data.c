/*
 * espeak_data.c - a look at espeak-ng's data files before espeak-ng reads
 * them.  libespeak-ng trusts its data: a truncated dictionary (en_dict cut
 * short) is read past its end and crashes or yields garbage phonemes.  So
 * before espeak-ng loads a voice, the files it will read are checked for
 * existence and plausible sizes, and a bad one is named.
 *
 * What is checked (the layout of espeak-ng 1.51's compiled files):
 *   1. phontab, phonindex, phondata, intonations: regular files of at least
 *      64 bytes (their contents are not checked);
 *   2. LANG_dict (LANG: the voice name up to '-', when that file exists;
 *      other voices name dictionaries this cannot tell): a header of two
 *      little-endian 32-bit words, N_HASH_DICT (1024) and the offset of the
 *      rules, which must lie inside the file; the rules end with the bytes
 *      07 00 (RULE_GROUP_END, then the terminating 0), so a file cut short
 *      anywhere lacks them.
 * This is a plausibility check, not a validation of espeak-ng's formats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "text/text.h"

/* A data file: regular and at least min_bytes long; 0 or -1 (why set). */
static int check_file(const char *dir, const char *name, long min_bytes, struct stat *st, char *why, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (stat(p, st) != 0) {
        snprintf(why, n, "espeak-ng's data file %s: %s", p, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st->st_mode) || st->st_size < min_bytes) {
        snprintf(why, n, "espeak-ng's data file %s is %s (%lld bytes): reinstall espeak-ng-data", p,
                 S_ISREG(st->st_mode) ? "too short" : "not a regular file", (long long)st->st_size);
        return -1;
    }
    return 0;
}

static uint32_t le32(const unsigned char *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

/* The dictionary's header and its last two bytes. */
static int check_dict(const char *path, long size, char *why, size_t n)
{
    FILE *f = fopen(path, "rb");
    unsigned char head[8], tail[2];
    int ok = f && fread(head, 1, 8, f) == 8 && fseek(f, -2L, SEEK_END) == 0 && fread(tail, 1, 2, f) == 2;
    if (f) fclose(f);
    if (!ok) {
        snprintf(why, n, "espeak-ng's dictionary %s cannot be read", path);
        return -1;
    }
    uint32_t n_hash = le32(head), rules = le32(head + 4);
    if (n_hash != 1024 || rules < 8 || rules >= (uint32_t)size || tail[0] != 7 || tail[1] != 0) {
        snprintf(why, n, "espeak-ng's dictionary %s is damaged or cut short (%ld bytes): reinstall espeak-ng-data",
                 path, size);
        return -1;
    }
    return 0;
}

int text_espeak_data_check(const char *data_dir, const char *voice, char *why, size_t n)
{
    static const struct { const char *name; long min; } files[] = {
        {"phontab", 64}, {"phonindex", 64}, {"phondata", 64}, {"intonations", 64},
    };
    struct stat st;
    why[0] = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (check_file(data_dir, files[i].name, files[i].min, &st, why, n) != 0) return -1;
    char lang[32];
    size_t l = strcspn(voice ? voice : "", "-_+");
    if (l == 0 || l >= sizeof lang - 6) return 0;
    memcpy(lang, voice, l);
    memcpy(lang + l, "_dict", 6);
    for (size_t i = 0; i < l; i++)
        if (!((lang[i] >= 'a' && lang[i] <= 'z') || (lang[i] >= 'A' && lang[i] <= 'Z'))) return 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", data_dir, lang);
    if (stat(p, &st) != 0) return 0;  /* a voice whose dictionary has another name */
    if (!S_ISREG(st.st_mode) || st.st_size < 10) {  /* the header and the end of the rules */
        snprintf(why, n, "espeak-ng's dictionary %s is not a regular file or too short: reinstall espeak-ng-data", p);
        return -1;
    }
    return check_dict(p, (long)st.st_size, why, n);
}

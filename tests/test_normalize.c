/*
 * test_normalize.c - the normalizer's table of cases (tests/data/normalize.tsv):
 * one cmocka test per class of written form (cardinal, money, date, unit,
 * range, phone, roman, abbreviation, ...), each case checked against its
 * expected reading, every failure printed with the input, the expected and
 * the actual text.  Cases marked "todo" are known weaknesses: the test
 * checks that they still fail, so a fix is noticed and the mark removed.
 * The table must hold at least 200 cases and every line must parse.  Also:
 * other languages get none of the English expansions.
 *
 * Run from the top folder (make test); TTS_NORMALIZE_TABLE names another
 * table.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

#define MIN_CASES 200

typedef struct norm_case {
    char *cls, *input, *expected;
    int todo;
    int line;
} norm_case;

typedef struct table {
    norm_case *v;
    size_t n, cap;
    int bad_line; /* first line that did not parse, 0 when none */
} table;

static table tab;

/* Split a line at tabs into at most max fields; returns the count. */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int load_table(const char *path, table *t)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "test_normalize: cannot read %s (run from the top folder)\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ln = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *f[5];
        size_t nf = split_tabs(line, f, 5);
        int todo = nf == 4 && strcmp(f[3], "todo") == 0;
        if ((nf != 3 && !todo) || !*f[0] || !*f[1]) {
            if (!t->bad_line)
                t->bad_line = ln;
            continue;
        }
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 256;
            norm_case *v = realloc(t->v, t->cap * sizeof *v);
            if (!v)
                break;
            t->v = v;
        }
        norm_case *c = &t->v[t->n++];
        c->cls = strdup(f[0]);
        c->input = strdup(f[1]);
        c->expected = strdup(f[2]);
        c->todo = todo;
        c->line = ln;
    }
    free(line);
    fclose(fp);
    return 0;
}

/* All the cases of the class named by *state. */
static void test_class(void **state)
{
    const char *cls = *state;
    size_t n = 0, n_failed = 0;
    for (size_t k = 0; k < tab.n; k++) {
        const norm_case *c = &tab.v[k];
        if (strcmp(c->cls, cls) != 0)
            continue;
        n++;
        char *out = NULL;
        tts_status st = text_normalize(c->input, &out);
        if (st != TTS_OK) {
            print_error("line %d: normalize(\"%s\") returned status %d\n", c->line, c->input, st);
            n_failed++;
        } else if (!c->todo && strcmp(out, c->expected) != 0) {
            print_error("line %d: normalize(\"%s\")\n  expected \"%s\"\n  actual   \"%s\"\n",
                        c->line, c->input, c->expected, out);
            n_failed++;
        } else if (c->todo && strcmp(out, c->expected) == 0) {
            print_error("line %d: normalize(\"%s\") now gives \"%s\": remove its todo mark\n",
                        c->line, c->input, out);
            n_failed++;
        }
        free(out);
    }
    assert_true(n > 0);
    if (n_failed)
        fail_msg("%zu of the %zu %s cases failed", n_failed, n, cls);
}

static void test_table_complete(void **state)
{
    (void)state;
    if (tab.bad_line)
        fail_msg("line %d of the table does not parse (class TAB input TAB expected [TAB todo])",
                 tab.bad_line);
    size_t n_checked = 0;
    for (size_t k = 0; k < tab.n; k++)
        n_checked += !tab.v[k].todo;
    if (n_checked < MIN_CASES)
        fail_msg("only %zu cases that must pass (at least %d)", n_checked, MIN_CASES);
}

/* The English rules stay English: in Czech every digit of the input is
 * still there for espeak-ng to read in Czech. */
static void test_other_languages_untouched(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t k = 0; k < tab.n; k++) {
        const norm_case *c = &tab.v[k];
        size_t digits_in = 0, digits_out = 0;
        for (const char *p = c->input; *p; p++)
            digits_in += *p >= '0' && *p <= '9';
        if (!digits_in)
            continue;
        char *out = NULL;
        assert_int_equal(text_normalize_lang("cs", c->input, strlen(c->input), &out), TTS_OK);
        for (const char *p = out; *p; p++)
            digits_out += *p >= '0' && *p <= '9';
        if (digits_out != digits_in)
            fail_msg("cs: normalize(\"%s\") gave \"%s\": digits changed", c->input, out);
        free(out);
        n++;
    }
    assert_true(n > 50);
}

int main(void)
{
    const char *path = getenv("TTS_NORMALIZE_TABLE");
    if (load_table(path ? path : "tests/data/normalize.tsv", &tab) != 0)
        return 1;
    /* one test per class, in the order the table first names them */
    size_t n_tests = 0;
    struct CMUnitTest *tests = calloc(tab.n + 2, sizeof *tests);
    if (!tests)
        return 1;
    tests[n_tests++] = (struct CMUnitTest)cmocka_unit_test(test_table_complete);
    for (size_t k = 0; k < tab.n; k++) {
        int seen = 0;
        for (size_t q = 0; q < k && !seen; q++)
            seen = strcmp(tab.v[q].cls, tab.v[k].cls) == 0;
        if (seen)
            continue;
        tests[n_tests].name = tab.v[k].cls;
        tests[n_tests].test_func = test_class;
        tests[n_tests].initial_state = tab.v[k].cls;
        n_tests++;
    }
    tests[n_tests++] = (struct CMUnitTest)cmocka_unit_test(test_other_languages_untouched);
    int rc = _cmocka_run_group_tests("normalize", tests, n_tests, NULL, NULL);
    for (size_t k = 0; k < tab.n; k++) {
        free(tab.v[k].cls);
        free(tab.v[k].input);
        free(tab.v[k].expected);
    }
    free(tab.v);
    free(tests);
    return rc;
}

/*
 * test_text.c - cmocka suite for the text front end: normalizer outputs,
 * sentence splitting and length bounds, espeak-ng phonemes with clause
 * marks, the frozen symbol table, encoding round trips, and hostile input
 * (invalid UTF-8, control bytes, a 100,000-character word, a 300-digit
 * number).  Expected IPA strings are those of espeak-ng 1.51 en-us.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

/* ---------------------------------------------------------------- helpers */

static char *norm(const char *in)
{
    char *out = NULL;
    tts_status st = text_normalize(in, &out);
    if (st != TTS_OK)
        fail_msg("text_normalize(\"%s\") returned %d", in, st);
    assert_non_null(out);
    return out;
}

static void check_norm(const char *in, const char *expected)
{
    char *out = norm(in);
    if (strcmp(out, expected) != 0)
        fail_msg("normalize(\"%s\")\n  got      \"%s\"\n  expected \"%s\"", in, out, expected);
    free(out);
}

static char *phon(const char *sentence)
{
    char *ipa = NULL;
    assert_int_equal(text_phonemize(sentence, &ipa), TTS_OK);
    assert_non_null(ipa);
    return ipa;
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

static int setup(void **state)
{
    (void)state;
    return text_frontend_init("en-us") == TTS_OK ? 0 : -1;
}

/* ---------------------------------------------------------------- normalizer */

static void test_normalize_issue_cases(void **state)
{
    (void)state;
    check_norm("$3.50", "three dollars and fifty cents");
    check_norm("£20", "twenty pounds");
    check_norm("€1,200", "one thousand two hundred euros");
    check_norm("12/05/2024", "December fifth, twenty twenty-four");
    check_norm("May 5th, 1999", "May fifth, nineteen ninety-nine");
    check_norm("10:30 am", "ten thirty AM");
    check_norm("8:00", "eight o'clock");
    check_norm("1908", "nineteen oh eight");
    check_norm("2024", "twenty twenty-four");
    check_norm("1066", "ten sixty-six");
    check_norm("World War II", "World War two");
    check_norm("Henry VIII", "Henry the eighth");
    check_norm("Chapter IV", "Chapter four");
    check_norm("50%", "fifty percent");
    check_norm("Tom & Jerry", "Tom and Jerry");
    check_norm("Dr. Smith lives on Elm Dr.", "Doctor Smith lives on Elm Drive.");
    check_norm("St. James St.", "Saint James Street.");
    check_norm("Mr. and Mrs. Jones Jr. came, etc.",
               "Mister and Missus Jones Junior came, et cetera.");
    check_norm("e.g. this", "for example this");
}

static void test_normalize_currency(void **state)
{
    (void)state;
    check_norm("$1", "one dollar");
    check_norm("$0.99", "ninety-nine cents");
    check_norm("$1.01", "one dollar and one cent");
    check_norm("$3.00", "three dollars");
    check_norm("$1.5 million", "one point five million dollars");
    check_norm("£3.50", "three pounds and fifty pence");
    check_norm("¥500", "five hundred yen");
    check_norm("It costs $20.", "It costs twenty dollars.");
}

static void test_normalize_numbers(void **state)
{
    (void)state;
    check_norm("0", "zero");
    check_norm("13", "thirteen");
    check_norm("100", "one hundred");
    check_norm("1,000,000", "one million");
    check_norm("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven");
    check_norm("12345", "twelve thousand three hundred forty-five");
    check_norm("3.14", "three point one four");
    check_norm("-5", "minus five");
    check_norm("007", "zero zero seven");
    check_norm("1st 2nd 3rd 22nd 101st 11th", "first second third twenty-second one hundred first eleventh");
    check_norm("2000 2008 1900 2010", "two thousand two thousand eight nineteen hundred twenty ten");
    check_norm("the 1990s and '80s", "the nineteen nineties and eighties");
    check_norm("MP3 and 10km", "MP three and ten kilometers");
    check_norm("1/2 3/4", "one half three quarters");
    check_norm("a 3:2 win", "a three to two win");
    check_norm("5°C", "five degrees Celsius");
    /* 22 digits: past the named scales, read digit by digit */
    check_norm("1234567890123456789012",
               "one two three four five six seven eight nine zero one two three four five "
               "six seven eight nine zero one two");
}

static void test_normalize_dates_times(void **state)
{
    (void)state;
    check_norm("31/12/1999", "December thirty-first, nineteen ninety-nine");
    check_norm("2024-05-12", "May twelfth, twenty twenty-four");
    check_norm("5 May 1999", "the fifth of May nineteen ninety-nine");
    check_norm("Jan. 3, 2001", "January third, two thousand one");
    check_norm("10:05", "ten oh five");
    check_norm("14:00", "fourteen hundred");
    check_norm("12:05:30", "twelve oh five and thirty seconds");
    check_norm("8:00 pm", "eight PM");
    check_norm("9am", "nine AM");
    check_norm("at 5 p.m. He left.", "at five PM. He left.");
    check_norm("at 5 p.m. on Monday", "at five PM on Monday");
}

static void test_normalize_roman(void **state)
{
    (void)state;
    check_norm("Louis XIV and Elizabeth II", "Louis the fourteenth and Elizabeth the second");
    check_norm("Super Bowl LVII", "Super Bowl fifty-seven");
    check_norm("World War I began.", "World War one began.");
    check_norm("George I of England", "George the first of England");
    check_norm("Edward V died", "Edward the fifth died");
    /* never the pronoun, never words or acronyms that look like numerals */
    check_norm("I think I am here. I went.", "I think I am here. I went.");
    check_norm("Henry I think", "Henry I think");
    check_norm("in chapter I have been", "in chapter I have been");
    check_norm("Malcolm X and Washington DC", "Malcolm X and Washington DC");
    check_norm("a CIVIL and VIVID MIX", "a CIVIL and VIVID MIX");
}

static void test_normalize_abbreviations(void **state)
{
    (void)state;
    check_norm("The Dr. is in.", "The Doctor is in.");
    check_norm("Main St. is long.", "Main Street is long.");
    check_norm("I live on 5th St. in town.", "I live on fifth Street in town.");
    check_norm("St. Louis", "Saint Louis");
    check_norm("Mr Smith", "Mister Smith");
    check_norm("Martin Luther King Jr. He was.", "Martin Luther King Junior. He was.");
    check_norm("Smith vs. Jones", "Smith versus Jones");
    check_norm("No. 5, Vol. 3, p. 12", "number five, volume three, page twelve");
    check_norm("i.e. that", "that is that");
    check_norm("the U.S. Army", "the US Army");
    check_norm("moved to the U.S. Then", "moved to the US. Then");
    check_norm("J. R. R. Tolkien", "J R R Tolkien");
    check_norm("Plan B. The end.", "Plan B. The end.");
    check_norm("Rich, Bart., he", "Rich, Bart, he");
    check_norm("Co.'s wharf", "Company's wharf");
}

static void test_normalize_symbols_punctuation(void **state)
{
    (void)state;
    check_norm("A+B=C", "A plus B equals C");
    check_norm("me @ home #1", "me at home number one");
    check_norm("Wait... what?! Really??", "Wait\xE2\x80\xA6 what? Really?");
    check_norm("Yes \xE2\x80\x94 no", "Yes, no");
    check_norm("\xE2\x80\x9CHello,\xE2\x80\x9D she said (quietly).", "Hello, she said quietly.");
    check_norm("it\xE2\x80\x99s fine", "it's fine");
    check_norm("  many   spaces\there\n\nand lines  ", "many spaces here and lines");
    check_norm("forward- looking", "forward-looking");
    check_norm("example.com works", "example.com works");
    check_norm(", leading comma", "leading comma");
}

static void test_normalize_utf8_and_controls(void **state)
{
    (void)state;
    const char *bad[] = {
        "\xC0\x80",             /* overlong NUL */
        "abc\xE0\x80\xAF",      /* overlong */
        "\xED\xA0\x80",         /* surrogate */
        "\xF4\x90\x80\x80",     /* > U+10FFFF */
        "trunc\xE2\x82",        /* truncated */
        "\xFF",                 /* never valid */
        "a\200b",               /* lone continuation */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *out = (char *)1;
        assert_int_equal(text_normalize(bad[k], &out), TTS_ERR_UTF8);
        assert_null(out);
        int32_t *ids = (int32_t *)1;
        size_t n = 7;
        assert_int_equal(text_utterance_ids(bad[k], &ids, &n), TTS_ERR_UTF8);
        assert_null(ids);
        assert_int_equal(n, 0);
    }
    /* control characters and NULs are dropped; C1 controls too; a terminal
     * escape sequence goes whole, a lone ESC alone */
    check_norm("a\x01" "b\x7f" "c \x1b[0m done", "abc done");
    check_norm("a\x1b" "b \x1b[ done", "ab done");
    check_norm("caf\xC3\xA9 \xC2\x85ok\xEF\xBB\xBF", "caf\xC3\xA9 ok");
    char *out = NULL;
    const char with_nul[] = "hel\0lo world";
    assert_int_equal(text_normalize_n(with_nul, sizeof with_nul - 1, &out), TTS_OK);
    assert_string_equal(out, "hello world");
    free(out);
    assert_int_equal(text_normalize(NULL, &out), TTS_ERR_INVALID_ARG);
    assert_int_equal(text_normalize("x", NULL), TTS_ERR_INVALID_ARG);
}

static void test_empty_and_punctuation_only(void **state)
{
    (void)state;
    const char *empty[] = {"", "   ", "\n\t ", "...", "?!", " , . ; : ", "\xE2\x80\xA6", "\"()\"", "- -"};
    for (size_t k = 0; k < sizeof empty / sizeof empty[0]; k++) {
        char *n = norm(empty[k]);
        assert_string_equal(n, "");
        text_sentences s;
        assert_int_equal(text_split(n, 400, &s), TTS_OK);
        assert_int_equal(s.n, 0);
        text_sentences_free(&s);
        /* the splitter alone also gives nothing for raw punctuation */
        assert_int_equal(text_split(empty[k], 400, &s), TTS_OK);
        assert_int_equal(s.n, 0);
        text_sentences_free(&s);
        char *ipa = phon(n);
        assert_string_equal(ipa, "");
        free(ipa);
        int32_t *ids = NULL;
        size_t nid = 0;
        assert_int_equal(text_utterance_ids(empty[k], &ids, &nid), TTS_ERR_EMPTY_TEXT);
        assert_null(ids);
        free(n);
    }
}

/* ---------------------------------------------------------------- splitter */

static void test_split_keeps_punctuation(void **state)
{
    (void)state;
    text_sentences s;
    assert_int_equal(text_split("Hello, world. How are you? Fine! Wait\xE2\x80\xA6 ok; yes: no",
                                400, &s), TTS_OK);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.items[0].text, "Hello, world.");
    assert_string_equal(s.items[1].text, "How are you?");
    assert_string_equal(s.items[2].text, "Fine!");
    assert_string_equal(s.items[3].text, "Wait\xE2\x80\xA6");
    assert_string_equal(s.items[4].text, "ok; yes: no");
    text_sentences_free(&s);
    assert_int_equal(text_split("ok; yes: no", 400, &s), TTS_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.items[0].text, "ok; yes: no");
    text_sentences_free(&s);
    text_sentences_free(NULL);
}

static void test_split_abbreviations_do_not_split(void **state)
{
    (void)state;
    char *n = norm("Dr. Smith met Mr. and Mrs. Jones Jr. at 5 p.m. on St. James St. in "
                   "Washington, e.g. near Elm Dr. for lunch, etc. Then they left.");
    text_sentences s;
    assert_int_equal(text_split(n, 400, &s), TTS_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.items[1].text, "Then they left.");
    assert_null(strstr(s.items[0].text, "Dr."));
    text_sentences_free(&s);
    free(n);
    /* a period inside a token is not a boundary */
    assert_int_equal(text_split("see example.com now. Go.", 400, &s), TTS_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.items[0].text, "see example.com now.");
    text_sentences_free(&s);
}

/* An abbreviation that ends a sentence splits after it, one that continues
 * the sentence does not: the first St. (before a name) is Saint, the second
 * (after a name, before "The") is Street and ends the sentence; "Fri." before
 * "We" and "Sec." before a number likewise. */
static void test_split_after_abbreviation_that_ends(void **state)
{
    (void)state;
    static const struct { const char *in, *first, *second; } t[] = {
        {"We met on St. James St. The house was old.", "We met on Saint James Street.",
         "The house was old."},
        {"Elm Dr. He left at 5:30pm.", "Elm Drive.", "He left at five thirty PM."},
        {"We close early on Fri. Come back Mon. for the rest.", "We close early on Friday.",
         "Come back Monday for the rest."},
        {"See Sec. 4 and Eq. 2. It was built c. 1850 by Dr. Lee.",
         "See section four and equation two.", "It was built circa eighteen fifty by Doctor Lee."},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        char *n = norm(t[k].in);
        text_sentences s;
        assert_int_equal(text_split(n, 400, &s), TTS_OK);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.items[0].text, t[k].first);
        assert_string_equal(s.items[1].text, t[k].second);
        text_sentences_free(&s);
        free(n);
    }
}

/* Pieces of a split sentence, joined by spaces, give the sentence back. */
static void check_pieces(const char *text, size_t max, size_t min_pieces)
{
    text_sentences s;
    assert_int_equal(text_split(text, max, &s), TTS_OK);
    assert_true(s.n >= min_pieces);
    size_t total = 0;
    for (size_t k = 0; k < s.n; k++) {
        size_t l = strlen(s.items[k].text);
        if (l > max)
            fail_msg("piece %zu has %zu bytes > %zu", k, l, max);
        assert_true(l > 0);
        assert_true(valid_utf8(s.items[k].text));
        assert_int_not_equal(s.items[k].text[0], ' ');
        assert_int_not_equal(s.items[k].text[l - 1], ' ');
        total += l;
    }
    char *joined = malloc(total + s.n + 1);
    assert_non_null(joined);
    joined[0] = '\0';
    for (size_t k = 0; k < s.n; k++) {
        if (k)
            strcat(joined, " ");
        strcat(joined, s.items[k].text);
    }
    if (strchr(text, ' ')) /* hard cuts of one word add spaces */
        assert_string_equal(joined, text);
    free(joined);
    text_sentences_free(&s);
}

static void test_split_long_sentence_bounded(void **state)
{
    (void)state;
    /* clause boundaries first */
    char buf[4096] = "";
    for (int k = 0; k < 40; k++)
        strcat(buf, "the quick brown fox jumps over the lazy dog, ");
    strcat(buf, "end.");
    check_pieces(buf, 100, 10);
    text_sentences s;
    assert_int_equal(text_split(buf, 100, &s), TTS_OK);
    for (size_t k = 0; k + 1 < s.n; k++) /* cut after a comma, comma kept */
        assert_int_equal(s.items[k].text[strlen(s.items[k].text) - 1], ',');
    text_sentences_free(&s);
    /* no clause marks: word boundaries */
    buf[0] = '\0';
    for (int k = 0; k < 60; k++)
        strcat(buf, "lorem ipsum dolor ");
    strcat(buf, "amet.");
    check_pieces(buf, 50, 20);
    /* max_chars 0 means no limit */
    assert_int_equal(text_split(buf, 0, &s), TTS_OK);
    assert_int_equal(s.n, 1);
    text_sentences_free(&s);
}

static void test_huge_word(void **state)
{
    (void)state;
    size_t n = 100000;
    char *w = malloc(n + 1);
    assert_non_null(w);
    for (size_t k = 0; k < n; k++)
        w[k] = (char)('a' + k % 26);
    w[n] = '\0';
    /* split: hard cuts, all bytes kept */
    text_sentences s;
    assert_int_equal(text_split(w, 400, &s), TTS_OK);
    assert_int_equal(s.n, n / 400);
    size_t total = 0;
    for (size_t k = 0; k < s.n; k++) {
        assert_true(strlen(s.items[k].text) <= 400);
        total += strlen(s.items[k].text);
    }
    assert_int_equal(total, n);
    text_sentences_free(&s);
    /* the whole chain survives it */
    int32_t *ids = NULL;
    size_t nid = 0;
    assert_int_equal(text_utterance_ids(w, &ids, &nid), TTS_OK);
    assert_true(nid > 1000);
    assert_int_equal(ids[0], TEXT_SYM_BOS);
    assert_int_equal(ids[nid - 1], TEXT_SYM_EOS);
    free(ids);
    free(w);
    /* multi-byte word: cuts fall on character boundaries */
    char *e = malloc(2 * 5000 + 1);
    assert_non_null(e);
    for (size_t k = 0; k < 5000; k++)
        memcpy(e + 2 * k, "\xC3\xA9", 2);
    e[10000] = '\0';
    check_pieces(e, 99, 100);
    free(e);
}

/* ---------------------------------------------------------------- phonemizer */

static void test_phonemize_marks_and_stress(void **state)
{
    (void)state;
    char *ipa = phon("Hello, world. How are you?");
    assert_string_equal(ipa, "həlˈoʊ, wˈɜːld. hˈaʊ ɑːɹ juː?");
    free(ipa);
    ipa = phon("Doctor Smith lives on Elm Drive.");
    assert_string_equal(ipa, "dˈɑːktɚ smˈɪθ lˈaɪvz ˌɔn ˈɛlm dɹˈaɪv.");
    free(ipa);
    ipa = phon("Wait\xE2\x80\xA6 one; two: three! four");
    assert_non_null(strstr(ipa, "\xE2\x80\xA6"));
    assert_non_null(strstr(ipa, ";"));
    assert_non_null(strstr(ipa, ":"));
    assert_non_null(strstr(ipa, "!"));
    assert_non_null(strstr(ipa, "ˈ"));
    free(ipa);
}

static void test_phonemize_output_is_clean(void **state)
{
    (void)state;
    /* foreign scripts, long clauses and odd symbols: one space between
     * words, no newlines, no "(xx)" language markers */
    const char *inputs[] = {
        ("\xCE\xA9\xCE\xBC\xCE\xAD\xCE\xB3\xCE\xB1 \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 "
         "\xE6\x97\xA5\xE6\x9C\xAC caf\xC3\xA9 Bach Llanelli"),
        ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty one two three four five six "
        "seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
        "eighteen nineteen twenty one two three four five six seven eight nine ten."),
        "Dr. Smith (raw, not normalized) said \"hi\" \xE2\x80\x94 $5 / 12/05/2024.",
    };
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        char *ipa = phon(inputs[k]);
        assert_true(strlen(ipa) > 0);
        assert_null(strchr(ipa, '\n'));
        assert_null(strchr(ipa, '('));
        assert_null(strstr(ipa, "  "));
        assert_int_not_equal(ipa[0], ' ');
        assert_int_not_equal(ipa[strlen(ipa) - 1], ' ');
        assert_true(valid_utf8(ipa));
        free(ipa);
    }
}

static void test_voice_switch(void **state)
{
    (void)state;
    assert_int_equal(text_frontend_init("no-such-voice-xyz"), TTS_ERR_PHONEMIZER);
    char *ipa = phon("water"); /* the previous voice is still there */
    assert_string_equal(ipa, "wˈɔːɾɚ");
    free(ipa);
    assert_int_equal(text_frontend_init("en-gb"), TTS_OK);
    ipa = phon("water");
    assert_string_equal(ipa, "wˈɔːtə");
    free(ipa);
    assert_int_equal(text_frontend_init("en-us"), TTS_OK);
    ipa = phon("water");
    assert_string_equal(ipa, "wˈɔːɾɚ");
    free(ipa);
}

static void *phon_thread(void *arg)
{
    (void)arg;
    for (int k = 0; k < 50; k++) {
        char *ipa = NULL;
        if (text_phonemize("The quick brown fox, jumps over the lazy dog.", &ipa) != TTS_OK ||
            strcmp(ipa, "ðə kwˈɪk bɹˈaʊn fˈɑːks, dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ.") != 0) {
            free(ipa);
            return (void *)1;
        }
        free(ipa);
    }
    return NULL;
}

static void test_phonemize_threads(void **state)
{
    (void)state;
    pthread_t t[3];
    for (int k = 0; k < 3; k++)
        assert_int_equal(pthread_create(&t[k], NULL, phon_thread, NULL), 0);
    for (int k = 0; k < 3; k++) {
        void *r;
        pthread_join(t[k], &r);
        assert_null(r);
    }
}

/* ---------------------------------------------------------------- symbols */

static void test_symbol_table_frozen(void **state)
{
    (void)state;
    /* The table is part of every trained model: append-only.  When a symbol
     * is appended, extend `frozen` at the end; never edit what is here. */
    static const char *const frozen[] = {
        "", "<bos>", "<eos>", " ", ",", ".", "?", "!", ";", ":", "\xE2\x80\xA6",
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
        "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
        "æ", "ç", "ð", "ø", "ħ", "ŋ", "œ", "ɐ", "ɑ", "ɒ", "ɔ", "ɕ", "ə", "ɚ", "ɛ",
        "ɜ", "ɟ", "ɡ", "ɣ", "ɨ", "ɪ", "ɫ", "ɬ", "ɲ", "ɹ", "ɾ", "ʁ", "ʃ", "ʉ", "ʊ",
        "ʋ", "ʌ", "ʍ", "ʎ", "ʒ", "ʔ", "θ", "χ", "ᵻ", "ʰ", "ʲ", "ˈ", "ˌ", "ː", "ˑ",
        "\xCC\x83", "\xCC\xA9", "\xCC\xAA"};
    size_t nf = sizeof frozen / sizeof frozen[0];
    assert_int_equal(nf, 85);
    assert_true(text_n_symbols() >= nf);
    assert_true(text_n_symbols() < 128);
    for (size_t k = 0; k < nf; k++)
        assert_string_equal(text_symbol(k), frozen[k]);
    assert_null(text_symbol(text_n_symbols()));
    assert_int_equal(TEXT_SYM_PAD, 0);
    assert_int_equal(TEXT_SYM_BOS, 1);
    assert_int_equal(TEXT_SYM_EOS, 2);
    /* every ordinary symbol is one code point that maps back to its id */
    for (size_t k = 3; k < text_n_symbols(); k++) {
        const char *s = text_symbol(k);
        uint32_t cp;
        size_t l = text_utf8_decode((const unsigned char *)s, strlen(s), &cp);
        assert_int_equal(l, strlen(s));
        assert_int_equal(text_symbol_id(cp), (int32_t)k);
    }
    assert_int_equal(text_symbol_id('A'), -1);
    assert_int_equal(text_symbol_id(0), -1);
}

static void test_encode_round_trip(void **state)
{
    (void)state;
    const char *texts[] = {
        "Hello, world. How are you? I'm fine; thanks: really!",
        ("Printing, in the only sense with which we are at present concerned, differs from "
         "most if not from all the arts and crafts represented in the Exhibition"),
        "The Mannlicher-Carcano rifle. Messrs. Gurney and Co.'s bank, Marquis de Lafayette.",
        "On 12/05/2024 at 10:30 am, Henry VIII paid $3.50 (50%) for 1,200 books\xE2\x80\xA6",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int32_t *ids = NULL;
        char *ipa = NULL;
        size_t n = 0, dropped = 99;
        assert_int_equal(text_utterance_ids_ipa(texts[k], &ids, &n, &ipa, &dropped), TTS_OK);
        assert_int_equal(dropped, 0);
        assert_int_equal(ids[0], TEXT_SYM_BOS);
        assert_int_equal(ids[n - 1], TEXT_SYM_EOS);
        size_t len = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            assert_true(ids[i] > TEXT_SYM_EOS && (size_t)ids[i] < text_n_symbols());
            len += strlen(text_symbol((size_t)ids[i]));
        }
        char *back = malloc(len + 1);
        assert_non_null(back);
        back[0] = '\0';
        for (size_t i = 1; i + 1 < n; i++)
            strcat(back, text_symbol((size_t)ids[i]));
        assert_string_equal(back, ipa);
        free(back);
        /* the same sequence through the plain API */
        int32_t *ids2 = NULL;
        size_t n2 = 0;
        assert_int_equal(text_utterance_ids(texts[k], &ids2, &n2), TTS_OK);
        assert_int_equal(n2, n);
        assert_memory_equal(ids, ids2, n * sizeof *ids);
        free(ids2);
        free(ids);
        free(ipa);
    }
}

static void test_utterance_ids_joins_sentences(void **state)
{
    (void)state;
    int32_t *ids = NULL;
    char *ipa = NULL;
    size_t n = 0;
    assert_int_equal(text_utterance_ids_ipa("Hi, Dr. Smith. Bye!", &ids, &n, &ipa, NULL), TTS_OK);
    assert_string_equal(ipa, "hˈaɪ, dˈɑːktɚ smˈɪθ. bˈaɪ!");
    size_t n_period = 0, n_comma = 0, n_bang = 0;
    for (size_t i = 0; i < n; i++) {
        n_period += ids[i] == text_symbol_id('.');
        n_comma += ids[i] == text_symbol_id(',');
        n_bang += ids[i] == text_symbol_id('!');
    }
    assert_int_equal(n_period, 1);
    assert_int_equal(n_comma, 1);
    assert_int_equal(n_bang, 1);
    free(ids);
    free(ipa);
}

static void test_encode_unknown_and_invalid(void **state)
{
    (void)state;
    int32_t *ids = NULL;
    size_t n = 0, dropped = 0;
    /* € and an emoji and an uppercase letter have no symbol */
    assert_int_equal(text_encode("a\xE2\x82\xAC" "b\xF0\x9F\x98\x80" "cA", &ids, &n, &dropped), TTS_OK);
    assert_int_equal(dropped, 3);
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], TEXT_SYM_BOS);
    assert_int_equal(ids[1], text_symbol_id('a'));
    assert_int_equal(ids[2], text_symbol_id('b'));
    assert_int_equal(ids[3], text_symbol_id('c'));
    assert_int_equal(ids[4], TEXT_SYM_EOS);
    free(ids);
    assert_int_equal(text_encode("", &ids, &n, NULL), TTS_OK);
    assert_int_equal(n, 2);
    free(ids);
    ids = (int32_t *)1;
    assert_int_equal(text_encode("ab\xC3", &ids, &n, &dropped), TTS_ERR_UTF8);
    assert_null(ids);
    assert_int_equal(text_encode(NULL, &ids, &n, NULL), TTS_ERR_INVALID_ARG);
}

static void test_number_300_digits(void **state)
{
    (void)state;
    char digits[301];
    for (int k = 0; k < 300; k++)
        digits[k] = (char)('1' + k % 9);
    digits[300] = '\0';
    char *n = norm(digits);
    /* digit by digit: 300 words */
    size_t words = 1;
    for (const char *p = n; *p; p++)
        words += *p == ' ';
    assert_int_equal(words, 300);
    assert_true(strncmp(n, "one two three four", 18) == 0);
    free(n);
    /* and with commas, and as money */
    char big[1200] = "$";
    for (int k = 0; k < 100; k++)
        strcat(big, k ? ",999" : "999");
    n = norm(big);
    assert_non_null(strstr(n, "nine nine nine nine"));
    assert_non_null(strstr(n, "dollars"));
    free(n);
    int32_t *ids = NULL;
    size_t nid = 0;
    assert_int_equal(text_utterance_ids(digits, &ids, &nid), TTS_OK);
    assert_true(nid > 900);
    free(ids);
}

static void test_number_words(void **state)
{
    (void)state;
    text_buf b = {0};
    text_num_cardinal(&b, "1000001", 7);
    assert_string_equal(b.data, "one million one");
    b.len = 0;
    text_num_ordinal(&b, "12", 2);
    assert_string_equal(b.data, "twelfth");
    b.len = 0;
    text_num_ordinal(&b, "40", 2);
    assert_string_equal(b.data, "fortieth");
    b.len = 0;
    text_num_year(&b, "1908");
    assert_string_equal(b.data, "nineteen oh eight");
    b.len = 0;
    text_num_cardinal(&b, "999999999999999999999", 21);
    assert_string_equal(b.data, "nine hundred ninety-nine quintillion nine hundred ninety-nine "
                                "quadrillion nine hundred ninety-nine trillion nine hundred "
                                "ninety-nine billion nine hundred ninety-nine million nine "
                                "hundred ninety-nine thousand nine hundred ninety-nine");
    text_buf_free(&b);
}

/* Random mixes of the tokens the normalizer treats specially, plus random
 * bytes: every stage must return a status, never crash, and the outputs
 * must keep their promises (valid UTF-8, bounded pieces, BOS..EOS). */
static void test_fuzz_random_text(void **state)
{
    (void)state;
    static const char *const tokens[] = {
        "$", "\xC2\xA3", "\xE2\x82\xAC", "1", "12", "1908", "2024", ",", ".", "/", ":", "-",
        "%", "&", "+", "@", "#", "'", "\"", "(", ")", "st", "th", "am", "p.m.", "Dr.", "St.",
        "Mr.", "Jr.", "etc.", "e.g.", "U.S.", "I", "II", "IV", "XIV", "Henry", "Chapter",
        "War", "May", "Jan.", "5th", "\xE2\x80\xA6", "...", "?", "!", ";", " ", " ", " ",
        "the", "word", "\xC3\xA9", "\xCE\xA9", "\t", "\n", "0", "00", "999", "1,000",
        "3.14", ".5", "\xC2\xB0", "\xE2\x80\x94", "--", "J.", "A", "'s", "Co.", "No."};
    const size_t n_tokens = sizeof tokens / sizeof tokens[0];
    char buf[600];
    /* longer runs by hand: TEXT_FUZZ_ITERS=100000 TEXT_FUZZ_SEED=7 */
    const char *env = getenv("TEXT_FUZZ_ITERS"), *seed = getenv("TEXT_FUZZ_SEED");
    int iters = env ? atoi(env) : 1500;
    uint32_t rng = seed ? (uint32_t)strtoul(seed, NULL, 10) : 12345u;
    for (int iter = 0; iter < iters; iter++) {
        size_t len = 0;
        int n = (int)((rng = rng * 1103515245u + 12345u) >> 16) % 40;
        for (int k = 0; k < n; k++) {
            rng = rng * 1103515245u + 12345u;
            const char *t = tokens[(rng >> 16) % n_tokens];
            size_t tl = strlen(t);
            if (len + tl + 2 >= sizeof buf)
                break;
            memcpy(buf + len, t, tl);
            len += tl;
            if ((rng >> 8) % 3 == 0)
                buf[len++] = ' ';
        }
        if (iter % 5 == 0 && len + 1 < sizeof buf) { /* a random byte */
            rng = rng * 1103515245u + 12345u;
            buf[len++] = (char)(1 + (rng >> 16) % 255);
        }
        buf[len] = '\0';
        char *normalized = NULL;
        tts_status st = text_normalize(buf, &normalized);
        if (st == TTS_ERR_UTF8) {
            assert_null(normalized);
            continue;
        }
        assert_int_equal(st, TTS_OK);
        assert_true(valid_utf8(normalized));
        assert_null(strstr(normalized, "  "));
        text_sentences s;
        assert_int_equal(text_split(normalized, 40, &s), TTS_OK);
        for (size_t k = 0; k < s.n; k++) {
            if (strlen(s.items[k].text) > 40)
                fail_msg("piece \"%s\" of \"%s\" is over 40 bytes", s.items[k].text, normalized);
            assert_true(valid_utf8(s.items[k].text));
            char *ipa = phon(s.items[k].text);
            int32_t *ids = NULL;
            size_t nid = 0;
            assert_int_equal(text_encode(ipa, &ids, &nid, NULL), TTS_OK);
            assert_true(nid >= 2);
            free(ids);
            free(ipa);
        }
        text_sentences_free(&s);
        int32_t *ids = NULL;
        size_t nid = 0;
        st = text_utterance_ids(buf, &ids, &nid);
        assert_true(st == TTS_OK || st == TTS_ERR_EMPTY_TEXT);
        if (st == TTS_OK) {
            assert_int_equal(ids[0], TEXT_SYM_BOS);
            assert_int_equal(ids[nid - 1], TEXT_SYM_EOS);
        }
        free(ids);
        free(normalized);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_issue_cases),
        cmocka_unit_test(test_normalize_currency),
        cmocka_unit_test(test_normalize_numbers),
        cmocka_unit_test(test_normalize_dates_times),
        cmocka_unit_test(test_normalize_roman),
        cmocka_unit_test(test_normalize_abbreviations),
        cmocka_unit_test(test_normalize_symbols_punctuation),
        cmocka_unit_test(test_normalize_utf8_and_controls),
        cmocka_unit_test(test_empty_and_punctuation_only),
        cmocka_unit_test(test_split_keeps_punctuation),
        cmocka_unit_test(test_split_abbreviations_do_not_split),
        cmocka_unit_test(test_split_after_abbreviation_that_ends),
        cmocka_unit_test(test_split_long_sentence_bounded),
        cmocka_unit_test(test_huge_word),
        cmocka_unit_test(test_phonemize_marks_and_stress),
        cmocka_unit_test(test_phonemize_output_is_clean),
        cmocka_unit_test(test_voice_switch),
        cmocka_unit_test(test_phonemize_threads),
        cmocka_unit_test(test_symbol_table_frozen),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_utterance_ids_joins_sentences),
        cmocka_unit_test(test_encode_unknown_and_invalid),
        cmocka_unit_test(test_number_300_digits),
        cmocka_unit_test(test_number_words),
        cmocka_unit_test(test_fuzz_random_text),
    };
    return cmocka_run_group_tests_name("text", tests, setup, NULL);
}

/*
 * test_markup.c - markup and pronunciation: the SSML subset, inline [[IPA]],
 * the user lexicon (its file format and case rules), and their effect
 * through the public API with a random test voice (tests/test_voice.h):
 * pauses are exact silence, prosody changes length and loudness, malformed
 * SSML is still spoken with a TTS_ERR_MARKUP warning giving its position.
 *
 * Text-level checks look at the sentences and segments the utterance
 * builder produces (src/text/utterance.c); audio checks assert lengths and
 * levels, never hashes.  It does not test the CLI flags (test_markup.sh).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tts.h"
#include "test_voice.h"

static char dir[] = "/tmp/tts-test-markup-XXXXXX";
static char voice_path[4096];
static tts_voice *voice;

#define RATE 22050

static int setup(void **state) { return test_voice_open(dir, voice_path, sizeof voice_path, &voice); }
static int teardown(void **state) { return test_voice_close(dir, voice); }

/* The utterance of SSML (ssml 1) or plain text, with a lexicon (may be NULL). */
static text_utterance build(const char *text, int ssml, const tts_lexicon *lex, char **warning)
{
    text_items it;
    assert_int_equal(ssml ? text_markup_ssml(text, &it) : text_markup_plain(text, &it), TTS_OK);
    if (warning) *warning = it.warning ? strdup(it.warning) : NULL;
    text_utterance u;
    assert_int_equal(text_utterance_build(&it, "en-us", lex, 180, &u), TTS_OK);
    text_items_free(&it);
    return u;
}

static char *ipa_of(const text_usent *s)
{
    char *ipa = NULL;
    assert_int_equal(text_usent_ipa(s, "en-us", &ipa), TTS_OK);
    return ipa;
}

/* ---- detection and plain text ---- */

static void test_detect(void **state)
{
    assert_true(text_is_ssml("<speak>Hi</speak>"));
    assert_true(text_is_ssml("  \n<speak version=\"1.1\">Hi</speak>"));
    assert_true(text_is_ssml("<?xml version=\"1.0\"?>\n<!-- c --><speak>Hi</speak>"));
    /* a DOCTYPE with an internal subset, whose declarations hold '>' and ']' */
    assert_true(text_is_ssml("<?xml version=\"1.0\"?><!DOCTYPE speak [ <!ENTITY n \"a]>b\"> "
                             "<!ELEMENT speak ANY> ]>\n<speak>Hi</speak>"));
    assert_true(text_is_ssml("<!DOCTYPE speak[<!ENTITY n 'x'>]  ><speak>Hi</speak>"));
    assert_false(text_is_ssml("<!DOCTYPE speak [ <!ENTITY n 'x'> <speak>Hi</speak>"));  /* unclosed */
    assert_true(text_is_ssml("\xEF\xBB\xBF<speak/>"));
    assert_false(text_is_ssml("Hello <speak>"));
    assert_false(text_is_ssml("<speaker>x</speaker>"));
    assert_false(text_is_ssml(""));
}

static void test_inline_phonemes(void **state)
{
    char *w = NULL;
    text_utterance u = build("Say [[ həlˈoʊ ]] to him. Then stop.", 0, NULL, &w);
    assert_null(w);
    assert_int_equal(u.n, 2);
    assert_int_equal(u.v[0].n_segs, 3);
    assert_true(u.v[0].segs[1].ipa);
    assert_string_equal(u.v[0].segs[1].s, "həlˈoʊ");
    assert_string_equal(u.v[0].text, "Say [[həlˈoʊ]] to him.");
    char *ipa = ipa_of(&u.v[0]);
    assert_non_null(strstr(ipa, " həlˈoʊ "));
    assert_int_equal(ipa[strlen(ipa) - 1], '.');
    free(ipa);
    text_utterance_free(&u);

    /* an unclosed [[ is reported with its place and read as text */
    u = build("one\ntwo [[ab", 0, NULL, &w);
    assert_non_null(w);
    assert_non_null(strstr(w, "line 2, column 5"));
    assert_int_equal(u.n, 1);
    assert_false(u.v[0].segs[0].ipa);
    free(w);
    text_utterance_free(&u);

    /* IPA alone is a sentence; symbols the model lacks are counted */
    u = build("[[ab ʘc]]", 0, NULL, NULL);
    assert_int_equal(u.n_speech, 1);
    assert_int_equal(u.n_unknown_ipa, 1);
    assert_int_equal(u.first_unknown_ipa, 0x298);
    text_utterance_free(&u);
}

/* ---- SSML ---- */

static void test_ssml_structure(void **state)
{
    char *w = NULL;
    text_utterance u = build("<speak><p><s>First one</s><s>second one</s></p>"
                             "<p>Third.</p>Hello <break time=\"750ms\"/> world."
                             "<break strength=\"strong\"/><break time=\"1s\"/></speak>", 1, NULL, &w);
    assert_null(w);
    assert_int_equal(u.n, 5);
    assert_string_equal(u.v[0].text, "First one");
    assert_true(u.v[0].pause < 0 && u.v[0].min_pause == 0);
    assert_string_equal(u.v[1].text, "second one");
    assert_true(fabsf(u.v[1].min_pause - 0.5f) < 1e-6f);  /* paragraph end */
    assert_string_equal(u.v[2].text, "Third.");
    assert_string_equal(u.v[3].text, "Hello");
    assert_true(fabsf(u.v[3].pause - 0.75f) < 1e-6f);
    assert_string_equal(u.v[4].text, "world.");
    assert_true(fabsf(u.v[4].pause - 1.7f) < 1e-5f);  /* strong 0.7 + 1 s */
    text_utterance_free(&u);

    /* a break before anything is said is a pause of its own */
    u = build("<speak><break time=\"2s\"/>Hi.</speak>", 1, NULL, NULL);
    assert_int_equal(u.n, 2);
    assert_int_equal(u.v[0].n_segs, 0);
    assert_true(fabsf(u.v[0].pause - 2.0f) < 1e-6f);
    assert_int_equal(u.n_speech, 1);
    text_utterance_free(&u);
}

static void test_ssml_prosody(void **state)
{
    char *w = NULL;
    text_utterance u = build("<speak>Normal <prosody rate=\"slow\" volume=\"-6dB\">quiet and "
                             "<prosody rate=\"200%\">fast</prosody></prosody> end.</speak>", 1, NULL, &w);
    assert_null(w);
    assert_int_equal(u.n, 4);
    assert_true(u.v[0].rate == 1 && u.v[0].volume == 1);
    assert_true(fabsf(u.v[1].rate - 0.8f) < 1e-6f);
    assert_true(fabsf(u.v[1].volume - 0.501f) < 1e-3f);
    assert_true(fabsf(u.v[2].rate - 1.6f) < 1e-6f);  /* nested: multiplied */
    assert_true(u.v[3].rate == 1);
    assert_int_equal(u.v[0].pause, 0);  /* cut by the change: no pause */
    text_utterance_free(&u);

    /* an unknown value is reported; the text is still spoken */
    u = build("<speak><prosody rate=\"zippy\">Hi there.</prosody></speak>", 1, NULL, &w);
    assert_non_null(w);
    assert_non_null(strstr(w, "line 1"));
    assert_non_null(strstr(w, "zippy"));
    assert_int_equal(u.n_speech, 1);
    assert_true(u.v[0].rate == 1);
    free(w);
    text_utterance_free(&u);

    /* values out of range are clamped, and said so */
    u = build("<speak><prosody rate=\"x-fast\"><prosody rate=\"300%\">Quick.</prosody></prosody></speak>", 1,
              NULL, &w);
    assert_non_null(w);
    assert_non_null(strstr(w, "clamped to 4"));
    assert_true(u.v[0].rate == 4.0f);
    free(w);
    text_utterance_free(&u);
    u = build("<speak><prosody rate=\"10%\">Slow.</prosody></speak>", 1, NULL, &w);
    assert_non_null(w);
    assert_non_null(strstr(w, "clamped to 0.25"));
    assert_true(u.v[0].rate == 0.25f);
    free(w);
    text_utterance_free(&u);
    u = build("<speak><prosody volume=\"+20dB\">Loud.</prosody></speak>", 1, NULL, &w);
    assert_non_null(w);
    assert_non_null(strstr(w, "above 4: clamped to 4"));
    assert_true(u.v[0].volume == 4.0f);
    free(w);
    text_utterance_free(&u);
    u = build("<speak>Wait.<break time=\"25s\"/></speak>", 1, NULL, &w);
    assert_non_null(w);
    assert_non_null(strstr(w, "clamped to 10 s"));
    assert_true(u.v[0].pause == 10.0f);
    free(w);
    text_utterance_free(&u);
    u = build("<speak><prosody rate=\"x-fast\">In range.</prosody><break time=\"10s\"/></speak>", 1, NULL, &w);
    assert_null(w);  /* within the range: no warning */
    text_utterance_free(&u);
}

static void test_ssml_say_as(void **state)
{
    static const struct { const char *in, *want; } t[] = {
        {"<say-as interpret-as=\"cardinal\">1,234</say-as>", "one thousand two hundred thirty-four"},
        {"<say-as interpret-as=\"cardinal\">-7</say-as>", "minus seven"},
        {"<say-as interpret-as=\"ordinal\">21</say-as>", "twenty-first"},
        {"<say-as interpret-as=\"ordinal\">3rd</say-as>", "third"},
        {"<say-as interpret-as=\"date\">2024-05-12</say-as>", "May twelfth, twenty twenty-four"},
        {"<say-as interpret-as=\"date\" format=\"dmy\">12/05/2024</say-as>", "May twelfth, twenty twenty-four"},
        {"<say-as interpret-as=\"date\" format=\"my\">7/1999</say-as>", "July nineteen ninety-nine"},
        {"<say-as interpret-as=\"telephone\">+1 555-0100</say-as>", "plus one, five five five, zero one zero zero"},
        {"<sub alias=\"World Wide Web\">WWW</sub>", "World Wide Web"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char doc[300];
        snprintf(doc, sizeof doc, "<speak>%s</speak>", t[i].in);
        char *w = NULL;
        text_utterance u = build(doc, 1, NULL, &w);
        assert_null(w);
        assert_int_equal(u.n, 1);
        if (strcmp(u.v[0].text, t[i].want)) fail_msg("%s: '%s', want '%s'", t[i].in, u.v[0].text, t[i].want);
        text_utterance_free(&u);
    }
    /* characters: letters by name (IPA), digits as words */
    text_utterance u = build("<speak><say-as interpret-as=\"characters\">Ab1</say-as></speak>", 1, NULL, NULL);
    assert_int_equal(u.n, 1);
    assert_string_equal(u.v[0].text, "[[ˈeɪ bˈiː]] one");
    text_utterance_free(&u);
    /* a bad date is text with a warning */
    char *w = NULL;
    u = build("<speak><say-as interpret-as=\"date\">soon</say-as></speak>", 1, NULL, &w);
    assert_non_null(w);
    assert_string_equal(u.v[0].text, "soon");
    free(w);
    text_utterance_free(&u);
}

static void test_ssml_phoneme(void **state)
{
    char *w = NULL;
    text_utterance u = build("<speak>A <phoneme alphabet=\"ipa\" ph=\"təmˈɑːtoʊ\">tomato</phoneme>, "
                             "please.</speak>", 1, NULL, &w);
    assert_null(w);
    assert_int_equal(u.n, 1);
    assert_string_equal(u.v[0].text, "A [[təmˈɑːtoʊ,]] please.");
    char *ipa = ipa_of(&u.v[0]);
    assert_non_null(strstr(ipa, "ɐ təmˈɑːtoʊ,"));  /* the article, not the letter */
    free(ipa);
    text_utterance_free(&u);
    /* another alphabet: the text is read, with a warning */
    u = build("<speak><phoneme alphabet=\"x-sampa\" ph=\"t@\">tomato</phoneme></speak>", 1, NULL, &w);
    assert_non_null(w);
    assert_string_equal(u.v[0].text, "tomato");
    free(w);
    text_utterance_free(&u);
}

static void test_ssml_malformed(void **state)
{
    static const char *bad[] = {
        "<speak>Hello <b>world</speak>",
        "<speak>Fish & chips</speak>",
        "<speak>Unclosed",
        "<speak><break time=\"1s\">Hello</speak>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *w = NULL;
        text_utterance u = build(bad[i], 1, NULL, &w);
        if (!w) fail_msg("no warning for %s", bad[i]);
        assert_non_null(strstr(w, "line 1, column "));
        assert_non_null(strstr(w, "plain text"));
        assert_true(u.n_speech >= 1);  /* never dropped */
        assert_null(strchr(u.v[0].text, '<'));
        free(w);
        text_utterance_free(&u);
    }
    char *w = NULL;
    text_utterance u = build("<speak>Hello <b>world</speak>", 1, NULL, &w);
    assert_string_equal(u.v[0].text, "Hello world");
    free(w);
    text_utterance_free(&u);
    /* --ssml text without a root: wrapped */
    u = build("Fish &amp; chips<break time=\"1s\"/>now", 1, NULL, &w);
    assert_null(w);
    assert_int_equal(u.n, 2);
    assert_string_equal(u.v[0].text, "Fish and chips");
    text_utterance_free(&u);
    /* invalid UTF-8 is an error, not a warning */
    text_items it;
    assert_int_equal(text_markup_ssml("<speak>\xC3\x28</speak>", &it), TTS_ERR_UTF8);
}

/* ---- lexicon ---- */

static tts_lexicon *lexicon_from(const char *content, tts_status want)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lex.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
    tts_lexicon *lex = NULL;
    assert_int_equal(tts_lexicon_load(path, &lex), want);
    return lex;
}

static void test_lexicon_file(void **state)
{
    tts_lexicon *lex = lexicon_from("# comment\n\nnginx  /ˈɛndʒɪn ˈɛks/\nSean\tShawn\n"
                                    "US /jˌuːˈɛs/\nus  /ʌs/\nsql sequel\n", TTS_OK);
    assert_int_equal(tts_lexicon_size(lex), 5);
    text_utterance u = build("Sean runs NGINX and Sql for us in the US.", 0, lex, NULL);
    assert_int_equal(u.n, 1);
    assert_string_equal(u.v[0].text, "Shawn runs [[ˈɛndʒɪn ˈɛks]] and sequel for [[ʌs]] in the [[jˌuːˈɛs.]]");
    text_utterance_free(&u);
    /* "sean" in lower case: the entry "Sean" has a capital, so only "Sean" matches */
    u = build("sean", 0, lex, NULL);
    assert_string_equal(u.v[0].text, "sean");
    text_utterance_free(&u);
    /* a later entry replaces; add() takes the same syntax */
    assert_int_equal(tts_lexicon_add(lex, "nginx", "engine x"), TTS_OK);
    assert_int_equal(tts_lexicon_size(lex), 5);
    u = build("nginx, ok", 0, lex, NULL);
    assert_string_equal(u.v[0].text, "engine x, ok");
    text_utterance_free(&u);
    assert_int_equal(tts_lexicon_add(lex, "two words", "x"), TTS_ERR_INVALID_ARG);
    assert_int_equal(tts_lexicon_add(lex, "click", "/ʘ/"), TTS_ERR_MARKUP);
    tts_lexicon_free(lex);
    tts_lexicon_free(NULL);

    /* errors name the line */
    lex = lexicon_from("good /ɡʊd/\nbad\n", TTS_ERR_MARKUP);
    assert_null(lex);
    assert_non_null(strstr(tts_last_error(), "lex.txt:2:"));
    lexicon_from("a /ʘ/\n", TTS_ERR_MARKUP);
    assert_non_null(strstr(tts_last_error(), "U+0298"));
    lexicon_from("a /\xC3\x28/\n", TTS_ERR_UTF8);
    lexicon_from("a //\n", TTS_ERR_MARKUP);
    tts_lexicon *none = NULL;
    assert_int_equal(tts_lexicon_load("/nonexistent/lex", &none), TTS_ERR_IO);
}

/* ---- through the API, with audio ---- */

typedef struct run_out {
    size_t n_chunks, total;  /* n_chunks: sentences (a long one comes in pieces) */
    size_t n[16];
    float peak[16];
    tts_status warning;
    char error[600];
} run_out;

static run_out run(const char *text, int ssml, const tts_lexicon *lex)
{
    run_out r = {0};
    tts_synth *syn = NULL;
    tts_options o;
    tts_options_default(voice, &o);
    o.sentence_silence = 0.2f;
    assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_OK);
    assert_int_equal(tts_synth_set_lexicon(syn, lex), TTS_OK);
    assert_int_equal(ssml ? tts_synth_start_ssml(syn, text) : tts_synth_start(syn, text), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) {
        assert_true(r.n_chunks < 16);
        if (ch.warning != TTS_OK && r.warning == TTS_OK) {
            r.warning = ch.warning;
            snprintf(r.error, sizeof r.error, "%s", tts_last_error());
        }
        float p = 0;
        for (size_t i = 0; i < ch.n_samples; i++) {
            assert_true(isfinite(ch.samples[i]));
            p = fabsf(ch.samples[i]) > p ? fabsf(ch.samples[i]) : p;
        }
        r.n[r.n_chunks] += ch.n_samples;  /* a sentence's pieces together */
        if (p > r.peak[r.n_chunks]) r.peak[r.n_chunks] = p;
        r.n_chunks += !ch.more;
        r.total += ch.n_samples;
    }
    assert_true(ch.done);
    tts_synth_free(syn);
    return r;
}

static void test_api_ssml_audio(void **state)
{
    /* a break: exactly that much silence after the sentence */
    run_out a = run("Hello there.", 0, NULL), b = run("<speak>Hello there.<break time=\"1200ms\"/></speak>", 0, NULL);
    assert_int_equal(a.n_chunks, 1);
    assert_int_equal(b.n_chunks, 1);
    assert_int_equal(b.n[0] - a.n[0], (size_t)(1.2 * RATE));  /* no sentence silence after the last */
    /* a pause before speech is a chunk of silence */
    run_out c = run("<break time=\"500ms\"/>Hello there.", 1, NULL);
    assert_int_equal(c.n_chunks, 2);
    assert_int_equal(c.n[0], (size_t)(0.5 * RATE));
    assert_true(c.peak[0] == 0.0f);
    /* rate: slower is longer; volume: softer is quieter */
    run_out slow = run("<speak><prosody rate=\"50%\">Hello there.</prosody></speak>", 0, NULL);
    assert_true(slow.n[0] > a.n[0] * 18 / 10);
    run_out soft = run("<speak><prosody volume=\"x-soft\">Hello there.</prosody></speak>", 0, NULL);
    assert_true(soft.peak[0] < a.peak[0] * 0.3f);
    assert_true(soft.peak[0] > 0);
    /* malformed: spoken as text, warned once with its position */
    run_out m = run("<speak>Hello <b>there.</speak>", 0, NULL);
    assert_int_equal(m.n_chunks, 1);
    assert_int_equal(m.warning, TTS_ERR_MARKUP);
    assert_non_null(strstr(m.error, "line 1, column"));
    assert_int_equal(m.n[0], a.n[0]);  /* the same words as the plain text */
    /* inline phonemes equal to espeak's are the same audio length */
    char *ph = NULL;
    assert_int_equal(tts_phonemize(voice, "there", &ph), TTS_OK);
    char *tab = strchr(ph, '\t');
    assert_non_null(tab);
    tab[strcspn(tab, "\n")] = 0;
    char text[200];
    snprintf(text, sizeof text, "Hello [[%s]].", tab + 1);
    free(ph);
    run_out i = run(text, 0, NULL);
    assert_int_equal(i.n[0], a.n[0]);
    assert_int_equal(i.warning, TTS_OK);
    /* empty SSML is still empty */
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start_ssml(syn, "<speak><break time=\"1s\"/></speak>"), TTS_ERR_EMPTY_TEXT);
    assert_int_equal(tts_synth_start(syn, "[[ ]]"), TTS_ERR_EMPTY_TEXT);
    assert_int_equal(tts_synth_start_ssml(syn, "<speak>\xFF</speak>"), TTS_ERR_UTF8);
    assert_int_equal(tts_synth_set_lexicon(NULL, NULL), TTS_ERR_INVALID_ARG);
    tts_synth_free(syn);
}

static void test_api_lexicon(void **state)
{
    tts_lexicon *lex = NULL;
    assert_int_equal(tts_lexicon_create(&lex), TTS_OK);
    /* "there" pronounced as a much longer word changes the audio */
    run_out a = run("Hello there.", 0, NULL);
    assert_int_equal(tts_lexicon_add(lex, "there", "/ðˈɛɹ ɪz ɐ lˈɔŋ wˈɜːd hˈɪɹ/"), TTS_OK);
    run_out b = run("Hello there.", 0, lex);
    assert_true(b.n[0] > a.n[0] + RATE / 10);
    /* ... but not for a synthesizer without it */
    run_out c = run("Hello there.", 0, NULL);
    assert_int_equal(c.n[0], a.n[0]);
    tts_lexicon_free(lex);
}

/* A lexicon pronunciation of 10,000 symbols is cut into sentence-sized
 * pieces like [[...]] (not one sentence of 10,000 symbols: 80 s of work and
 * 383 s of noise, or out of memory), and a lexicon file's lines are bounded
 * (--lexicon /dev/zero is an error naming the file and line, not a read
 * until memory runs out). */
static void test_lexicon_bounded(void **state)
{
    tts_lexicon *lex = NULL;
    assert_int_equal(tts_lexicon_create(&lex), TTS_OK);
    size_t n = 10000, bytes = strlen("ə");
    char *pron = malloc(n * bytes + 3);
    pron[0] = '/';
    for (size_t i = 0; i < n; i++) memcpy(pron + 1 + i * bytes, "ə", bytes);
    memcpy(pron + 1 + n * bytes, "/", 2);
    assert_int_equal(tts_lexicon_add(lex, "tomato", pron), TTS_OK);
    free(pron);
    text_utterance u = build("Say tomato now.", 0, lex, NULL);
    assert_true(u.n >= n * bytes / 180);
    size_t total = 0;
    for (size_t i = 0; i < u.n; i++) {
        char *ipa = ipa_of(&u.v[i]);
        assert_true(strlen(ipa) <= 2 * 180);
        for (const char *p = ipa; (p = strstr(p, "ə")); p += bytes) total++;
        free(ipa);
    }
    assert_int_equal(total, n);  /* every symbol kept, in pieces */
    text_utterance_free(&u);
    tts_lexicon_free(lex);

    assert_int_equal(tts_lexicon_load("/dev/zero", &lex), TTS_ERR_MARKUP);
    assert_null(lex);
    assert_non_null(strstr(tts_last_error(), "/dev/zero:1: a line longer than"));
    char path[4200];
    snprintf(path, sizeof path, "%s/long.lex", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# fine\nSean /ʃˈɔːn/\nword ", f);
    for (int i = 0; i < 5000; i++) fputc('a', f);
    fputs("\n", f);
    fclose(f);
    assert_int_equal(tts_lexicon_load(path, &lex), TTS_ERR_MARKUP);
    assert_non_null(strstr(tts_last_error(), "long.lex:3: a line longer than 4096 bytes"));
}

/* A letter with 10,000 combining marks is one short sentence (the run cut to
 * four marks), not 112 sentences of near silence; in any language. */
static void test_combining_marks_collapse(void **state)
{
    size_t n = 10000;
    char *t = malloc(2 * n + 16);
    size_t k = 0;
    t[k++] = 'a';
    for (size_t i = 0; i < n; i++) { t[k++] = (char)0xCC; t[k++] = (char)0x81; }  /* U+0301 */
    memcpy(t + k, " b.", 4);
    text_utterance u = build(t, 0, NULL, NULL);
    assert_int_equal(u.n, 1);
    assert_true(strlen(u.v[0].text) < 32);
    text_utterance_free(&u);
    char *out = NULL;
    size_t dropped = 0;
    assert_int_equal(text_drop_unreadable("hi", t, &out, &dropped, NULL), TTS_OK);  /* Hindi: not Latin */
    assert_int_equal(strlen(out), 1 + 4 * 2 + 3);
    free(out);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_inline_phonemes),
        cmocka_unit_test(test_ssml_structure),
        cmocka_unit_test(test_ssml_prosody),
        cmocka_unit_test(test_ssml_say_as),
        cmocka_unit_test(test_ssml_phoneme),
        cmocka_unit_test(test_ssml_malformed),
        cmocka_unit_test(test_lexicon_file),
        cmocka_unit_test(test_api_ssml_audio),
        cmocka_unit_test(test_api_lexicon),
        cmocka_unit_test(test_lexicon_bounded),
        cmocka_unit_test(test_combining_marks_collapse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

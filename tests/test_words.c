/*
 * test_words.c - word timings (src/core/words.c, tts_chunk.words), the
 * library's file writer (tts_synth_to_file) and the size fields that let
 * tts_options and tts_chunk grow.
 *
 * Word timings are checked where the right answer is known:
 *   - which IPA letters belong to which word, where espeak-ng joins words
 *     ("of the" -> "ʌvðə");
 *   - times from a made-up alignment;
 *   - end to end with the random test voice (tests/test_voice.h), whose
 *     attention moves forward exactly one symbol per decoder step, so word k
 *     starts at (its first symbol + 1) decoder steps; across sentences
 *     separated by <break>s, whose silences are known, word times never fall
 *     in a silence.
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
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/words.h"
#include "tts.h"
#include "test_voice.h"

static char dir[] = "/tmp/tts-test-words-XXXXXX";
static char voice_path[4096];
static tts_voice *voice;

static int setup(void **state) { return test_voice_open(dir, voice_path, sizeof voice_path, &voice); }
static int teardown(void **state) { return test_voice_close(dir, voice); }

/* The sentence of plain text and its IPA, as the synthesizer builds them. */
static void one_sentence(const char *text, text_utterance *u, char **ipa)
{
    text_items items;
    assert_int_equal(text_markup_plain(text, &items), TTS_OK);
    memset(u, 0, sizeof *u);
    assert_int_equal(text_utterance_build(&items, "en-us", NULL, 400, u), TTS_OK);
    text_items_free(&items);
    assert_int_equal(u->n, 1);
    assert_int_equal(text_usent_ipa(&u->v[0], "en-us", ipa), TTS_OK);
}

/* Code points first..last of ipa (every code point of English IPA is a
 * symbol, so symbol positions are code point positions). */
static void symbols_of(const char *ipa, int first, int last, char *out, size_t cap)
{
    size_t n = 0;
    int k = 0;
    for (const char *p = ipa; *p;) {
        size_t len = 1;
        while ((p[len] & 0xC0) == 0x80) len++;
        if (k >= first && k <= last && n + len < cap) {
            memcpy(out + n, p, len);
            n += len;
        }
        k++;
        p += len;
    }
    out[n] = 0;
}

/* espeak-ng joins "in the" and "of the" into one IPA word: each text word
 * still gets its own letters. */
static void test_plan_joined_words(void **state)
{
    text_utterance u;
    char *ipa = NULL;
    one_sentence("In the house of the rising sun, twenty-four hours.", &u, &ipa);
    words_plan p;
    assert_int_equal(words_plan_build(&u.v[0], "en-us", ipa, (int)text_n_symbols(), &p), TTS_OK);
    static const char *const want[][2] = {
        {"In", "ɪn"}, {"the", "ðə"}, {"house", "hˈaʊs"}, {"of", "ʌv"}, {"the", "ðə"},
        {"rising", "ɹˈaɪzɪŋ"}, {"sun", "sˈʌn"}, {"twenty-four", "twˈɛntifˈoːɹ"}, {"hours", "ˈaʊɚz"},
    };
    assert_int_equal(p.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < p.n; i++) {
        char got[64];
        symbols_of(ipa, p.v[i].first, p.v[i].last, got, sizeof got);
        printf("     %-12s -> %s  (%s)\n", p.v[i].text, got, ipa);
        assert_string_equal(p.v[i].text, want[i][0]);
        assert_string_equal(got, want[i][1]);
    }
    words_plan_free(&p);
    free(ipa);
    text_utterance_free(&u);
}

/* IPA spans are words of their own; punctuation is no word. */
static void test_plan_ipa_span(void **state)
{
    text_utterance u;
    char *ipa = NULL;
    one_sentence("Say [[hˈɛloʊ]] now!", &u, &ipa);
    words_plan p;
    assert_int_equal(words_plan_build(&u.v[0], "en-us", ipa, (int)text_n_symbols(), &p), TTS_OK);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0].text, "Say");
    assert_string_equal(p.v[1].text, "hˈɛloʊ");
    assert_string_equal(p.v[2].text, "now");
    char got[64];
    symbols_of(ipa, p.v[1].first, p.v[1].last, got, sizeof got);
    assert_string_equal(got, "hˈɛloʊ");
    assert_true(p.v[0].last < p.v[1].first && p.v[1].last < p.v[2].first);
    words_plan_free(&p);
    free(ipa);
    text_utterance_free(&u);
}

/* Times from frame positions: a word lasts from the first frame at its first
 * symbol to the first frame past its last; a step back is ignored; a word the
 * attention jumps over has no length. */
static void test_times_from_positions(void **state)
{
    words_word w[3] = {{"a", 0, 2}, {"b", 4, 6}, {"c", 8, 8}};
    words_plan p = {w, 3, 3, 10};
    /*              f: 0   1  2  3  4  5  6  7  8  9 10 11 */
    const int pos[] = {-1, -1, 0, 1, 2, 3, 1, 4, 5, 6, 9, 9};
    tts_word out[3];
    words_times(&p, pos, 12, 0.01, out);
    assert_string_equal(out[0].text, "a");
    assert_true(fabs(out[0].start - 0.02) < 1e-9 && fabs(out[0].end - 0.05) < 1e-9);
    assert_true(fabs(out[1].start - 0.07) < 1e-9 && fabs(out[1].end - 0.10) < 1e-9);
    assert_true(fabs(out[2].start - 0.10) < 1e-9 && fabs(out[2].end - 0.10) < 1e-9);
    /* positions from an alignment: 2 frames per step, argmax per step */
    const float align[3 * 4] = {0.7f, 0.2f, 0.1f, 0, /* BOS */ 0.1f, 0.8f, 0.1f, 0, 0, 0.1f, 0.2f, 0.7f};
    int fpos[6];
    words_frame_positions(align, 3, 4, 2, 0, 5, 10, fpos);
    const int want[5] = {9, 9, 10, 10, 12};
    for (int i = 0; i < 5; i++) assert_int_equal(fpos[i], want[i]);
    /* a sentence retried in halves: the second half's symbols count from
     * where it begins in the sentence's IPA (symbols, not bytes) */
    const char *ipa = "wˈʌn tˈuː θɹˈiː.";
    const char *half = strstr(ipa, "tˈuː");
    assert_int_equal(words_symbol_offset(ipa, (size_t)(half - ipa), (int)text_n_symbols()), 5);
    assert_int_equal(words_symbol_offset(ipa, strlen(ipa), (int)text_n_symbols()), 16);
    /* a model that knows fewer symbols skips the ones it cannot read, like synthesis does */
    assert_int_equal(words_symbol_offset(ipa, (size_t)(half - ipa), (int)text_symbol_id(0x02C8)), 4);
}

/* The test voice's attention takes one symbol per decoder step: each word
 * starts (first symbol + 1) steps into its sentence and ends (last + 2)
 * steps in, within a step.  Across a <break>, the words keep out of the
 * known silences. */
static void test_chunk_words(void **state)
{
    const char *ssml = "<speak>One two three. <break time=\"1s\"/> Four, five six.</speak>";
    const char *want[] = {"One", "two", "three", "Four", "five", "six"};
    tts_synth *syn = NULL;
    tts_options o;
    tts_options_default(voice, &o);
    assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, ssml), TTS_OK);
    /* the same sentences' symbols, to know the answer */
    const char *sentences[] = {"One two three.", "Four, five six."};
    int r = test_voice_config(0).r, hop = 256, rate = tts_voice_sample_rate(voice);
    double step_s = (double)r * hop / rate, offset = 0, last_end = -1;
    tts_chunk ch;
    tts_chunk_init(&ch);
    size_t k = 0, n_chunks = 0;
    while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) {
        assert_true(n_chunks < 2);
        text_utterance u;
        char *ipa = NULL;
        one_sentence(sentences[n_chunks], &u, &ipa);
        words_plan p;
        assert_int_equal(words_plan_build(&u.v[0], "en-us", ipa, (int)text_n_symbols(), &p), TTS_OK);
        assert_int_equal(ch.n_words, p.n);
        /* the end of the chunk's speech: the 1 s break follows the first
         * sentence, nothing the last (its silence is exact zeros) */
        size_t n_sil = n_chunks == 0 ? (size_t)ch.sample_rate : 0;
        assert_true(ch.n_samples > n_sil);
        for (size_t i = ch.n_samples - n_sil; i < ch.n_samples; i++) assert_true(ch.samples[i] == 0.0f);
        double speech = (double)(ch.n_samples - n_sil) / ch.sample_rate;
        for (size_t i = 0; i < ch.n_words; i++, k++) {
            const tts_word *w = &ch.words[i];
            printf("     %-6s %.3f %.3f (symbols %d-%d, step %.3f s)\n", w->text, offset + w->start,
                   offset + w->end, p.v[i].first, p.v[i].last, step_s);
            assert_string_equal(w->text, want[k]);
            assert_true(fabs(w->start - (p.v[i].first + 1) * step_s) <= step_s + 1e-6);
            assert_true(fabs(w->end - (p.v[i].last + 2) * step_s) <= step_s + 1e-6);
            assert_true(w->start < w->end);
            assert_true(offset + w->start >= last_end);  /* in order, no overlap */
            assert_true(w->end <= speech + 1e-6);         /* never in the silence after */
            last_end = offset + w->end;
        }
        offset += (double)ch.n_samples / ch.sample_rate;
        n_chunks++;
        words_plan_free(&p);
        free(ipa);
        text_utterance_free(&u);
    }
    assert_true(ch.done);
    assert_int_equal(k, 6);
    tts_synth_free(syn);
}

/* A pause alone has no words. */
static void test_pause_no_words(void **state)
{
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, "<speak><break time=\"300ms\"/>Hi.</speak>"), TTS_OK);
    tts_chunk ch;
    tts_chunk_init(&ch);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_int_equal(ch.n_words, 0);
    assert_null(ch.words);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_int_equal(ch.n_words, 1);
    assert_string_equal(ch.words[0].text, "Hi");
    tts_synth_free(syn);
}

/* The size fields: a struct not filled by its init function is refused; a
 * longer struct (a newer program) gets the known fields and nothing past them. */
static void test_struct_sizes(void **state)
{
    tts_options o;
    memset(&o, 0, sizeof o);
    o.speed = o.volume = 1;
    o.gl_iters = 32;
    o.sharpen = 1;
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_ERR_INVALID_ARG);
    assert_null(syn);
    assert_non_null(strstr(tts_last_error(), "tts_options_default"));
    tts_options_default(voice, &o);
    assert_int_equal(o.size, sizeof(tts_options));
    struct { tts_options o; char more[32]; } big;
    memset(&big, 0x5a, sizeof big);
    tts_options_default(voice, &big.o);
    big.o.size = sizeof big;
    assert_int_equal(tts_synth_create(voice, &big.o, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, "Hi."), TTS_OK);

    tts_chunk ch;
    memset(&ch, 0, sizeof ch);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_ERR_INVALID_ARG);
    assert_non_null(strstr(tts_last_error(), "tts_chunk_init"));
    struct { tts_chunk c; unsigned char more[64]; } bigc;
    memset(&bigc, 0xa5, sizeof bigc);
    bigc.c.size = sizeof bigc;
    assert_int_equal(tts_synth_next(syn, &bigc.c), TTS_OK);  /* the sentence was not taken by the refusal */
    assert_int_equal(bigc.c.size, sizeof bigc);
    assert_int_equal(bigc.c.n_words, 1);
    for (size_t i = 0; i < sizeof bigc.more; i++) assert_int_equal(bigc.more[i], 0xa5);
    tts_chunk_init(&ch);
    assert_int_equal(ch.size, sizeof(tts_chunk));
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_true(ch.done);
    tts_synth_free(syn);
}

/* tts_synth_to_file: the chunks' samples in a file of the extension's
 * format; a failure leaves nothing behind and an existing file unchanged. */
static void test_to_file(void **state)
{
    const char *text = "Hello there. The birch canoe slid on the smooth planks.";
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    tts_chunk ch;
    tts_chunk_init(&ch);
    size_t total = 0;
    while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) total += ch.n_samples;
    char path[4200];
    const char *ext[] = {"wav", "flac", "ogg"};
    const char *magic[] = {"RIFF", "fLaC", "OggS"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/out.%s", dir, ext[i]);
        double secs = 0;
        assert_int_equal(tts_synth_to_file(syn, text, path, &secs), TTS_OK);
        char head[5] = "";
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fread(head, 1, 4, f), 4);
        fclose(f);
        assert_string_equal(head, magic[i]);
        float *x = NULL;
        size_t n = 0;
        int sr = 0;
        assert_int_equal(audio_read_file(path, &x, &n, &sr), TTS_OK);
        assert_int_equal(sr, tts_voice_sample_rate(voice));
        assert_int_equal(n, total);
        assert_true(fabs(secs - (double)total / sr) < 1e-9);
        free(x);
    }
    /* failures: nothing left, the existing file kept */
    snprintf(path, sizeof path, "%s/out.wav", dir);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(tts_synth_to_file(syn, "  ...  ", path, NULL), TTS_ERR_EMPTY_TEXT);
    assert_int_equal(tts_synth_to_file(syn, "caf\xc3 au lait", path, NULL), TTS_ERR_UTF8);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    snprintf(path, sizeof path, "%s/out.mp3", dir);
    assert_int_equal(tts_synth_to_file(syn, text, path, NULL), TTS_ERR_AUDIO_FORMAT);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/no/such/folder/out.wav", dir);
    assert_int_equal(tts_synth_to_file(syn, text, path, NULL), TTS_ERR_IO);
    assert_true(strlen(tts_last_error()) > 0);
    assert_int_equal(tts_synth_to_file(NULL, text, path, NULL), TTS_ERR_INVALID_ARG);
    /* the folder holds the three files and nothing else (no temporary files) */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s' | grep -c '^out\\.')\" = 3 && ! ls -A '%s' | grep -q part", dir, dir);
    assert_int_equal(system(cmd), 0);
    tts_synth_free(syn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_joined_words),
        cmocka_unit_test(test_plan_ipa_span),
        cmocka_unit_test(test_times_from_positions),
        cmocka_unit_test(test_chunk_words),
        cmocka_unit_test(test_pause_no_words),
        cmocka_unit_test(test_struct_sizes),
        cmocka_unit_test(test_to_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * fuzz_text.c - libFuzzer target for the text front end: the input is raw
 * bytes (any encoding, NULs and all) run through text_normalize_n, then
 * text_split with a length limit taken from the input, text_phonemize and
 * text_encode on each sentence, and text_encode / text_utterance_ids on the
 * raw input as a C string.  Beyond memory safety it checks the contracts
 * the rest of the program relies on: normalized text is valid UTF-8 with no
 * control characters, sentences are at most max_chars bytes and speakable,
 * ids are in the symbol table and framed by BOS ... EOS.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz.h"
#include "text/text.h"

static void check_utf8_clean(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode(u + i, n - i, &cp);
        FUZZ_CHECK(l > 0);          /* valid UTF-8 */
        FUZZ_CHECK(cp >= 0x20 && cp != 0x7F); /* no control characters */
        i += l;
    }
}

static void check_ids(const int32_t *ids, size_t n)
{
    FUZZ_CHECK(n >= 2 && ids[0] == TEXT_SYM_BOS && ids[n - 1] == TEXT_SYM_EOS);
    for (size_t i = 1; i + 1 < n; i++) FUZZ_CHECK(ids[i] > TEXT_SYM_EOS && (size_t)ids[i] < text_n_symbols());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static int ready;
    if (!ready) {
        FUZZ_CHECK(text_frontend_init("en-us") == TTS_OK);
        ready = 1;
    }
    char *norm = NULL;
    tts_status st = text_normalize_n((const char *)data, n, &norm);
    FUZZ_CHECK(st == TTS_OK || st == TTS_ERR_UTF8);
    if (st == TTS_OK) {
        FUZZ_CHECK(norm != NULL);
        check_utf8_clean(norm);
        size_t max = n ? data[0] % 200 : 0; /* 0 = no limit, < 8 raised to 8 */
        text_sentences ss = {0};
        FUZZ_CHECK(text_split(norm, max, &ss) == TTS_OK);
        size_t lim = max == 0 ? (size_t)-1 : max < 8 ? 8 : max;
        for (size_t i = 0; i < ss.n; i++) {
            const char *s = ss.items[i].text;
            FUZZ_CHECK(strlen(s) <= lim);
            FUZZ_CHECK(text_is_speakable(s, strlen(s)));
            check_utf8_clean(s);
            if (i >= 8) continue; /* espeak is the slow part: phonemize the first few */
            char *ipa = NULL;
            FUZZ_CHECK(text_phonemize(s, &ipa) == TTS_OK);
            check_utf8_clean(ipa);
            int32_t *ids = NULL;
            size_t nid = 0;
            FUZZ_CHECK(text_encode(ipa, &ids, &nid, NULL) == TTS_OK);
            check_ids(ids, nid);
            free(ids);
            free(ipa);
        }
        text_sentences_free(&ss);
    }
    free(norm);

    /* the same bytes as a C string: as IPA for the encoder, as one utterance */
    char *s = malloc(n + 1);
    if (!s) return 0;
    memcpy(s, data, n);
    s[n] = 0;
    int32_t *ids = NULL;
    size_t nid = 0, dropped = 0;
    st = text_encode(s, &ids, &nid, &dropped);
    FUZZ_CHECK(st == TTS_OK || st == TTS_ERR_UTF8);
    if (st == TTS_OK) check_ids(ids, nid);
    free(ids);
    ids = NULL;
    if (n < 2048) {
        char *ipa = NULL;
        st = text_utterance_ids_ipa(s, &ids, &nid, &ipa, &dropped);
        FUZZ_CHECK(st == TTS_OK || st == TTS_ERR_UTF8 || st == TTS_ERR_EMPTY_TEXT);
        if (st == TTS_OK) check_ids(ids, nid);
        free(ids);
        free(ipa);
    }
    free(s);
    return 0;
}

/*
 * symbols.c - the fixed symbol table of the acoustic model and the encoder
 * from IPA strings to symbol ids.
 *
 * The table is part of every trained model (its embedding rows follow these
 * ids), so it is APPEND-ONLY: never reorder, remove or change an entry; add
 * new symbols at the end.  One symbol is one Unicode code point, except the
 * three specials.  It holds the word boundary (space), the clause marks the
 * splitter keeps, the ASCII letters, and the IPA code points espeak-ng 1.51
 * produces for English: en-us over the LJ Speech and CMU ARCTIC transcripts
 * gives 47 code points (a b d e f h i j k l m n o p r s t u v w x z æ ð ŋ ɐ ɑ
 * ɔ ə ɚ ɛ ɜ ɡ ɪ ɹ ɾ ʃ ʊ ʌ ʒ ʔ ˈ ˌ ː ̩ θ ᵻ plus space), and en, en-gb-x-rp,
 * en-gb-scotland and en-029 and foreign names add ɒ ɬ ʉ ʍ ʲ ̪ ç χ and a few
 * others kept here for other English voices.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

static const struct symbol {
    uint32_t cp;        /* code point; 0 for the specials */
    const char *utf8;
} symbols[] = {
    /* 0-2: specials */
    {0, ""}, {0, "<bos>"}, {0, "<eos>"},
    /* 3-10: word boundary and clause marks */
    {0x20, " "}, {',', ","}, {'.', "."}, {'?', "?"}, {'!', "!"}, {';', ";"},
    {':', ":"}, {0x2026, "\xE2\x80\xA6"},
    /* 11-36: ASCII letters a-z */
    {'a', "a"}, {'b', "b"}, {'c', "c"}, {'d', "d"}, {'e', "e"}, {'f', "f"},
    {'g', "g"}, {'h', "h"}, {'i', "i"}, {'j', "j"}, {'k', "k"}, {'l', "l"},
    {'m', "m"}, {'n', "n"}, {'o', "o"}, {'p', "p"}, {'q', "q"}, {'r', "r"},
    {'s', "s"}, {'t', "t"}, {'u', "u"}, {'v', "v"}, {'w', "w"}, {'x', "x"},
    {'y', "y"}, {'z', "z"},
    /* 37-: IPA letters */
    {0x00E6, "æ"}, {0x00E7, "ç"}, {0x00F0, "ð"}, {0x00F8, "ø"}, {0x0127, "ħ"},
    {0x014B, "ŋ"}, {0x0153, "œ"}, {0x0250, "ɐ"}, {0x0251, "ɑ"}, {0x0252, "ɒ"},
    {0x0254, "ɔ"}, {0x0255, "ɕ"}, {0x0259, "ə"}, {0x025A, "ɚ"}, {0x025B, "ɛ"},
    {0x025C, "ɜ"}, {0x025F, "ɟ"}, {0x0261, "ɡ"}, {0x0263, "ɣ"}, {0x0268, "ɨ"},
    {0x026A, "ɪ"}, {0x026B, "ɫ"}, {0x026C, "ɬ"}, {0x0272, "ɲ"}, {0x0279, "ɹ"},
    {0x027E, "ɾ"}, {0x0281, "ʁ"}, {0x0283, "ʃ"}, {0x0289, "ʉ"}, {0x028A, "ʊ"},
    {0x028B, "ʋ"}, {0x028C, "ʌ"}, {0x028D, "ʍ"}, {0x028E, "ʎ"}, {0x0292, "ʒ"},
    {0x0294, "ʔ"}, {0x03B8, "θ"}, {0x03C7, "χ"}, {0x1D7B, "ᵻ"},
    /* modifiers: aspiration, palatalization, stress, length */
    {0x02B0, "ʰ"}, {0x02B2, "ʲ"}, {0x02C8, "ˈ"}, {0x02CC, "ˌ"}, {0x02D0, "ː"},
    {0x02D1, "ˑ"},
    /* combining: nasal, syllabic, dental */
    {0x0303, "\xCC\x83"}, {0x0329, "\xCC\xA9"}, {0x032A, "\xCC\xAA"},
    /* Czech (espeak-ng cs): raised (r̝ of ř), voiceless ring (r̝̊), ʑ */
    {0x031D, "\xCC\x9D"}, {0x030A, "\xCC\x8A"}, {0x0291, "ʑ"},
    /* append new symbols here, never above */
};

#define N_SYMBOLS (sizeof symbols / sizeof symbols[0])

size_t text_n_symbols(void) { return N_SYMBOLS; }

const char *text_symbol(size_t id) { return id < N_SYMBOLS ? symbols[id].utf8 : NULL; }

int32_t text_symbol_id(uint32_t cp)
{
    if (cp >= 'a' && cp <= 'z')
        return (int32_t)(11 + (cp - 'a'));
    if (cp == 0)
        return -1;
    for (size_t k = 3; k < N_SYMBOLS; k++)
        if (symbols[k].cp == cp)
            return (int32_t)k;
    return -1;
}

tts_status text_encode(const char *ipa, int32_t **ids, size_t *n_ids, size_t *n_dropped)
{
    if (n_dropped)
        *n_dropped = 0;
    if (!ipa || !ids || !n_ids)
        return TTS_ERR_INVALID_ARG;
    *ids = NULL;
    *n_ids = 0;
    size_t len = strlen(ipa), n = 0, dropped = 0;
    /* at most one id per byte, plus BOS and EOS */
    int32_t *out = malloc((len + 2) * sizeof *out);
    if (!out)
        return TTS_ERR_NOMEM;
    const unsigned char *u = (const unsigned char *)ipa;
    out[n++] = TEXT_SYM_BOS;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = text_utf8_decode(u + i, len - i, &cp);
        if (!l) {
            free(out);
            return TTS_ERR_UTF8;
        }
        i += l;
        int32_t id = text_symbol_id(cp);
        if (id < 0)
            dropped++;
        else
            out[n++] = id;
    }
    out[n++] = TEXT_SYM_EOS;
    *ids = out;
    *n_ids = n;
    if (n_dropped)
        *n_dropped = dropped;
    return TTS_OK;
}

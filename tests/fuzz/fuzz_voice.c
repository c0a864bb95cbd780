/*
 * fuzz_voice.c - libFuzzer target for the voice-file loader: the input is
 * written as a voice JSON next to a small valid model (x.safetensors, made
 * once at start) and loaded with tts_voice_load; a voice that loads gets a
 * synthesizer with its defaults.  A failure must say why.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz.h"
#include "model/model.h"
#include "text/text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    taco_config c = taco_config_default(20);
    c.emb = 8; c.enc_ch = 8; c.enc_lstm = 4; c.att_dim = 4; c.loc_filters = 2; c.loc_k = 3;
    c.prenet1 = 8; c.prenet2 = 4; c.att_rnn = 8; c.dec_rnn = 8; c.n_mels = 80; c.r = 2;
    c.post_ch = 4;
    taco_model *m = NULL;
    if (taco_model_new(&c, &m) != TTS_OK) abort();
    nn_rng rng = {7};
    taco_init_random(m, &rng);
    char path[128];
    snprintf(path, sizeof path, "%s/x.safetensors", fuzz_scratch());
    if (taco_model_save(m, path, NULL, NULL, 0, NULL, NULL, 0) != TTS_OK) abort();
    taco_model_free(m);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/v.json", fuzz_scratch());
    fuzz_write(path, data, n);
    tts_voice *v = NULL;
    tts_status st = tts_voice_load(path, &v);
    if (st != TTS_OK) {
        FUZZ_CHECK(v == NULL);
        FUZZ_CHECK(tts_last_error()[0] != 0);
        return 0;
    }
    FUZZ_CHECK(tts_voice_name(v) != NULL && tts_voice_sample_rate(v) == 22050);
    tts_synth *s = NULL;
    st = tts_synth_create(v, NULL, &s);
    FUZZ_CHECK(st == TTS_OK); /* the voice's defaults are always valid options */
    tts_synth_free(s);
    tts_voice_free(v);
    /* put the front end back to the default voice for the next input */
    text_frontend_init("en-us");
    return 0;
}

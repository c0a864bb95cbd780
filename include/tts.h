/*
 * tts.h - the public interface of libtts, an offline neural text-to-speech
 * synthesizer.  This header is the manual.
 *
 * Text goes in, 16-bit-ready float samples come out, one sentence at a
 * time, so playback can start after the first sentence:
 *
 *     tts_voice *voice;
 *     if (tts_voice_load("slt", &voice) != TTS_OK) { puts(tts_last_error()); ... }
 *     tts_synth *syn;
 *     tts_synth_create(voice, NULL, &syn);           // NULL: the voice's defaults
 *     tts_synth_start(syn, "Hello there. How are you?");
 *     tts_chunk ch;
 *     tts_chunk_init(&ch);                           // sets ch.size
 *     while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done)
 *         play(ch.samples, ch.n_samples, ch.sample_rate); // valid until the next call
 *
 * or, to write a file:  tts_synth_to_file(syn, "Hello there.", "hello.wav");
 *     tts_synth_free(syn);
 *     tts_voice_free(voice);
 *
 * A voice (the read-only model, mapped from its file) is loaded once and
 * shared by any number of synthesizers, one per thread.  Every function that
 * can fail returns a tts_status; tts_last_error() then holds a message with
 * the details (which file, which tensor).  The library never exits and
 * never prints.  Every *_create/_load is matched by a *_free, and every
 * free function accepts NULL.
 *
 * Markup and pronunciation: tts_synth_start reads plain text, where
 * [[ IPA ]] spans are spoken as written (espeak-ng's IPA, as tts --phonemes
 * prints it), or SSML when the text begins with <speak>; tts_synth_start_ssml
 * reads SSML always.  A tts_lexicon (a user dictionary: word -> IPA or a
 * respelling) set with tts_synth_set_lexicon applies to every later text.
 *
 * The status list is append-only: a code never changes its number.
 *
 * Growing structs: tts_options and tts_chunk begin with a `size` field, the
 * size of the struct as the calling program knows it (set by
 * tts_options_default and tts_chunk_init).  New fields are only ever added
 * at the end, and the library reads and writes only the first `size` bytes,
 * so a program built against an older tts.h keeps working with a newer
 * library.  Always fill them with those functions before use.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_H
#define TTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: one enum for the library and the programs (tts, tts-train),
 * append-only, so a number never changes meaning.  Three are never returned
 * by a function of this header: TTS_ERR_AUDIO_DEVICE and TTS_ERR_NO_PLAYBACK
 * (playback is the tts program's, not the library's) and TTS_ERR_DATASET
 * (the trainer's); tts_status_message() knows them all. */
typedef enum tts_status {
    TTS_OK = 0,
    TTS_ERR_NOMEM = 1,            /* an allocation failed */
    TTS_ERR_INVALID_ARG = 2,      /* a NULL or out-of-range argument */
    TTS_ERR_UTF8 = 3,             /* the text is not valid UTF-8 */
    TTS_ERR_EMPTY_TEXT = 4,       /* nothing speakable in the text */
    TTS_ERR_IO = 5,               /* a file could not be opened, read or written */
    TTS_ERR_MODEL_FORMAT = 6,     /* model file is not a valid safetensors file */
    TTS_ERR_MODEL_TRUNCATED = 7,  /* model file is shorter than its header says */
    TTS_ERR_MODEL_MISMATCH = 8,   /* a tensor is missing or has the wrong shape/dtype */
    TTS_ERR_VOICE = 9,            /* the voice file is missing or invalid */
    TTS_ERR_PHONEMIZER = 10,      /* espeak-ng could not be initialised or failed */
    TTS_ERR_AUDIO_FORMAT = 11,    /* unsupported audio file format or sample rate */
    TTS_ERR_AUDIO_DEVICE = 12,    /* no audio output device could be opened (programs only) */
    TTS_ERR_NO_PLAYBACK = 13,     /* built without PortAudio: cannot play aloud (programs only) */
    TTS_ERR_ATTENTION = 14,       /* the model failed to align (stop never fired, cap hit) */
    TTS_ERR_CANCELLED = 15,       /* stopped by the caller (Ctrl-C) */
    TTS_ERR_NUMERIC = 16,         /* a NaN or infinite value appeared */
    TTS_ERR_DATASET = 17,         /* a training dataset could not be read (tts-train only) */
    TTS_ERR_NO_SPACE = 18,        /* the disk is full */
    TTS_ERR_INTERNAL = 19,        /* a bug: please report it */
    TTS_ERR_UNREADABLE = 20,      /* a warning: characters the voice's language cannot read
                                     (emoji, other scripts) were left out */
    TTS_ERR_MARKUP = 21           /* malformed SSML (read as plain text without its tags), an
                                     unclosed [[, an unsupported value; as a chunk warning, or
                                     from tts_lexicon_* for a bad dictionary line */
} tts_status;

/* A static English message for a status code; never NULL. */
const char *tts_status_message(tts_status status);

/* Details of the last failure in the calling thread ("" when none): the
 * library's one error channel, whichever part failed (text, model file,
 * audio file); each public function that returns a tts_status clears it
 * first.  Valid until the thread's next library call. */
const char *tts_last_error(void);

/* ------------------------------------------------------------- voices */

typedef struct tts_voice tts_voice;

/* Load a voice: a path to a voice file (voices/NAME.json, which names its
 * model file relative to itself; or a model file NAME.safetensors, read as
 * an en-us voice with the default options) or a NAME looked up, in order,
 * in:
 *   1. the folders of $TTS_VOICE_PATH (colon-separated);
 *   2. beside the running program: ../voices, ../share/tts/voices and
 *      ../../share/tts/voices of its folder (a build tree, an installation,
 *      the speech-dispatcher module), those that exist;
 *   3. ./voices (the working folder);
 *   4. TTS_DATADIR/voices (the PREFIX the library was built for);
 *   5. share/tts/voices of the installation the library was loaded from
 *      (PREFIX/lib/..), when it is another folder.
 * The first folder holding NAME.json wins.  TTS_ERR_VOICE when not found;
 * tts_last_error() lists the folders searched.  The model's tensors are validated and mapped
 * read-only.  Initialises espeak-ng for the voice's language. */
tts_status tts_voice_load(const char *name_or_path, tts_voice **out);
void tts_voice_free(tts_voice *voice);

const char *tts_voice_name(const tts_voice *voice);
int tts_voice_sample_rate(const tts_voice *voice); /* Hz: the voice's own (22050 for slt) */
/* The voice's language: the espeak-ng voice its front end reads with
 * ("en-us", "cs").  Owned by the voice. */
const char *tts_voice_language(const tts_voice *voice);

/* Voice files found in the search folders above: calls fn(name, path, user)
 * for each, folder by folder in the search order (so when two folders hold
 * the same NAME, the first call is the voice tts_voice_load(NAME) loads).
 * Returns the number found. */
int tts_voice_list(void (*fn)(const char *name, const char *path, void *user), void *user);

/* What a voice file says about its voice, without loading its model: the
 * language ("language", else "espeak_voice": a code of letters, digits, '-'
 * and '_' that fits its buffer whole, else "") and the description ("US
 * English, female"; "" when it has none; cut to fit its buffer, control
 * characters made spaces).  TTS_ERR_VOICE (see
 * tts_last_error) when the file cannot be read or is not a JSON object;
 * TTS_ERR_INVALID_ARG for a NULL path or a buffer of size 0. */
tts_status tts_voice_describe(const char *voice_file, char *language, size_t language_size,
                              char *description, size_t description_size);

/* --------------------------------------------------------- synthesis */

typedef struct tts_options {
    size_t size;            /* sizeof(tts_options) as the program knows it: set by
                               tts_options_default (see "Growing structs" above) */
    float speed;            /* 1.0 = the voice's pace; 0.25..4, higher is faster */
    float volume;           /* 1.0 = as trained; 0..4, samples are clipped to [-1, 1] */
    float sentence_silence; /* seconds of silence between sentences, 0.2; 0..10 (none after
                               the last sentence of a text; SSML <break>s and paragraph
                               ends are kept wherever they are) */
    int gl_iters;           /* Griffin-Lim iterations, 8 (from PGHI's phase); 1..1000 (quality vs speed) */
    uint64_t seed;          /* prenet-dropout seed, 0 = fixed default: same text, same audio */
    float sharpen;          /* Griffin-Lim magnitude sharpening, 1.0 = none; 0.5..3
                               (values above 1 emphasize spectral peaks) */
    int stream;             /* 1 (default): a sentence at the voice's own pace (speed 1)
                               comes in several chunks, the first after about half a
                               second of it is made, so audio starts sooner; 0: one
                               chunk per sentence */
} tts_options;

/* The voice's defaults (from its voice file; voice NULL: the library's),
 * with out->size set.  Start every tts_options with this. */
void tts_options_default(const tts_voice *voice, tts_options *out);

typedef struct tts_synth tts_synth;

/* A synthesizer: all buffers for synthesis are allocated here (or grown
 * for a longer sentence), not per frame.  opts NULL = the voice's defaults.
 * The options are copied.  TTS_ERR_INVALID_ARG when a value is out of range
 * or opts->size is too small (not filled by tts_options_default).  The voice
 * must outlive the synthesizer. */
tts_status tts_synth_create(const tts_voice *voice, const tts_options *opts, tts_synth **out);
void tts_synth_free(tts_synth *synth);

/* Begin synthesizing UTF-8 text of any length.  The text is normalized and
 * split into sentences here (it is kept, about twice its size); audio is made
 * a sentence (or a piece of one) per tts_synth_next, so audio memory is
 * bounded by the longest sentence, not the whole text.
 * TTS_ERR_UTF8 for invalid UTF-8, TTS_ERR_EMPTY_TEXT when nothing in it can
 * be spoken.  A new start abandons the previous text.  [[ IPA ]] spans are
 * spoken as written, bypassing espeak-ng (an unclosed "[[" stays text, with
 * the warning TTS_ERR_MARKUP); text that begins with <speak> is read as SSML
 * (see tts_synth_start_ssml). */
tts_status tts_synth_start(tts_synth *synth, const char *text);

/* The same for SSML (a subset of SSML 1.1; the <speak> root may be left
 * out): <speak>, <p> and <s> (sentence ends; a paragraph ends with at least
 * 0.5 s of silence), <break time="500ms"|"1.5s" strength="none|x-weak|weak|
 * medium|strong|x-strong"/> (0, 0.1, 0.2, 0.4, 0.7, 1.2 s; time wins),
 * <prosody rate="x-slow|slow|medium|fast|x-fast|N%|+N%|-N%|N" volume=
 * "silent|x-soft|soft|medium|loud|x-loud|+NdB|-NdB|N%"> (factors on the
 * options' speed and volume, nested ones multiply; pitch is not supported
 * and ignored), <say-as interpret-as="characters|spell-out|cardinal|number|
 * ordinal|date|telephone"> (date: format="mdy|dmy|ymd|md|dm|ym|my", mdy by
 * default), <phoneme alphabet="ipa" ph="...">, <sub alias="...">; <mark>
 * and other elements are read for their text.  Text that is not well-formed
 * XML is still spoken, as plain text without its tags, and the first chunk
 * carries the warning TTS_ERR_MARKUP with the position of the problem in
 * tts_last_error(); so do unsupported values (the content is spoken) and
 * values outside the supported range, which are clamped: rate to 0.25-4
 * times, volume to 0-4 times, a break to 10 s.
 * Returns like tts_synth_start. */
tts_status tts_synth_start_ssml(tts_synth *synth, const char *ssml);

/* ------------------------------------------------------------ lexicon */

/* A user dictionary, applied before espeak-ng to the words of the text as
 * normalized (numbers already in words).  One entry per line of its file:
 *
 *     # comment
 *     nginx     /ˈɛndʒɪn ˈɛks/      IPA between slashes (espeak-ng symbols)
 *     Sean      Shawn               otherwise a respelling, read by espeak-ng
 *
 * A word is one token without spaces.  Case: an entry written in lower case
 * matches the word in any case (ASCII letters); an entry with a capital
 * matches only that exact spelling and wins over a lower-case one ("US"
 * vs "us").  A later entry for the same word replaces an earlier one.
 * Unknown IPA symbols are errors (TTS_ERR_MARKUP with the line number). */
typedef struct tts_lexicon tts_lexicon;

tts_status tts_lexicon_create(tts_lexicon **out);                       /* empty */
tts_status tts_lexicon_load(const char *path, tts_lexicon **out);       /* from a file */
/* Add one entry: word and pronunciation as in a file line. */
tts_status tts_lexicon_add(tts_lexicon *lex, const char *word, const char *pronunciation);
size_t tts_lexicon_size(const tts_lexicon *lex);
void tts_lexicon_free(tts_lexicon *lex);

/* Use lex (NULL: none) for the texts started from now on.  The lexicon is
 * not copied: it must outlive its use; one lexicon may serve many
 * synthesizers (it is read-only once in use). */
tts_status tts_synth_set_lexicon(tts_synth *synth, const tts_lexicon *lex);

/* A word of a chunk and when it is spoken, from the acoustic model's
 * attention (which symbol each frame of audio speaks).  Times are accurate
 * to about one frame (hop / sample rate, 12 ms at 22050 Hz) where the model
 * aligns well. */
typedef struct tts_word {
    const char *text;   /* the word as spoken: normalized ("twenty-four" for "24"), without
                           the punctuation around it; words of IPA spans and lexicon entries
                           given in IPA as their IPA */
    double start, end;  /* seconds from the chunk's first sample; start <= end; a word the
                           model skipped has start == end */
} tts_word;

typedef struct tts_chunk {
    size_t size;            /* sizeof(tts_chunk) as the program knows it: set it with
                               tts_chunk_init before the first tts_synth_next; kept by it */
    const float *samples;   /* mono, [-1, 1]; owned by the synthesizer, valid until its next call */
    size_t n_samples;       /* the sentence followed by its silence (none after the last
                               sentence of a text unless a <break> put it there) */
    int sample_rate;        /* Hz */
    const char *text;       /* the normalized sentence, same lifetime as samples; IPA
                               spans show as [[...]]; "" for a pause alone (<break>) */
    size_t sentence;        /* 0-based index of the sentence */
    tts_status warning;     /* TTS_OK, or TTS_ERR_ATTENTION when the model failed to align
                               and the sentence was retried in pieces (audio is still given),
                               or TTS_ERR_MARKUP, on the first chunk, when the markup
                               was malformed or unsupported (tts_last_error() says
                               where), or TTS_ERR_UNREADABLE, once per text (on its first chunk
                               without another warning), when tts_synth_start left out
                               characters the voice cannot read; tts_last_error() then
                               says how many and which was first */
    unsigned stops;         /* how the acoustic model stopped, OR-ed over the pieces of the
                               sentence: TTS_STOP_GATE (normal), TTS_STOP_END_OF_TEXT (the
                               stop gate never fired; stopped as the attention rested on the
                               last symbol), TTS_STOP_FRAME_CAP (an alignment failure) */
    int done;               /* 1: no more audio (samples NULL, n_samples 0) */
    const tts_word *words;  /* the sentence's words in order (n_words of them), with their
                               times; same lifetime as samples; NULL when n_words is 0 (a
                               pause alone, or a chunk with more = 1) */
    size_t n_words;
    int more;               /* 1: the sentence goes on in the next chunk (options.stream);
                               text and sentence are the same there, and its last chunk
                               carries the words (timed from that chunk's first sample:
                               words said in earlier chunks have negative times), the
                               warning and stops */
} tts_chunk;

/* Zero *chunk and set chunk->size = sizeof(tts_chunk). */
void tts_chunk_init(tts_chunk *chunk);

#define TTS_STOP_GATE 1u
#define TTS_STOP_FRAME_CAP 2u
#define TTS_STOP_END_OF_TEXT 4u

/* The next chunk of audio: a sentence, or a piece of a long one (chunk->more,
 * options.stream).  Returns TTS_OK and fills *chunk (done = 1 after the last
 * sentence), or an error for this sentence; after an error the next call
 * continues with the following sentence.  chunk->size must
 * be set (tts_chunk_init): TTS_ERR_INVALID_ARG otherwise. */
tts_status tts_synth_next(tts_synth *synth, tts_chunk *chunk);

/* Leave out the next sentence: its audio is never made (what is left of a
 * sentence whose first pieces were taken, if one is in progress).  For one
 * text shared by synthesizers in several threads: each starts the same text
 * and skips the sentences the others make, and each sentence's audio is
 * what a single synthesizer gives (its number, and so its dropout, are
 * kept).  Returns TTS_OK, also when no sentence is left (the next
 * tts_synth_next then says done); TTS_ERR_INVALID_ARG for NULL. */
tts_status tts_synth_skip(tts_synth *synth);

/* Synthesize text (plain text or SSML, as tts_synth_start reads it) into
 * the audio file at path, its format from the extension: .wav (16-bit
 * PCM), .flac or .ogg (Vorbis), at the voice's sample rate.  The file is
 * written to a temporary file in the same folder and renamed when complete,
 * so path never holds a partial file: on any failure (and on
 * tts_synth_cancel) nothing is left behind and an existing file is
 * unchanged.  Blocks until done.  Returns TTS_OK, or the first failure:
 * the statuses of tts_synth_start and tts_synth_next, TTS_ERR_AUDIO_FORMAT
 * for an unknown extension, TTS_ERR_IO for a folder that is missing or not
 * writable, TTS_ERR_NO_SPACE.  Warnings of the chunks (TTS_ERR_ATTENTION,
 * TTS_ERR_MARKUP ...) are not errors: the file is written.  *seconds (may
 * be NULL) receives the length of the audio written. */
tts_status tts_synth_to_file(tts_synth *synth, const char *text, const char *path, double *seconds);

/* Ask synth to stop (Ctrl-C): the tts_synth_next running in another thread
 * returns TTS_ERR_CANCELLED within one acoustic-model step or Griffin-Lim
 * iteration (a few milliseconds), and so does every later call until the
 * next tts_synth_start.  Only sets a flag: safe from another thread or a
 * signal handler.  Accepts NULL. */
void tts_synth_cancel(tts_synth *synth);

/* Phonemes of text, as the voice's front end produces them: one line per
 * sentence, "normalized text<TAB>IPA" (markup read as by tts_synth_start;
 * no lexicon).  *out is malloc'd: free() it. */
tts_status tts_phonemize(const tts_voice *voice, const char *text, char **out);

#ifdef __cplusplus
}
#endif
#endif /* TTS_H */

/*
 * normalize.c - the text normalizer that runs in front of espeak-ng.
 *
 * espeak-ng 1.51 reads some written forms wrongly ("$3.50" as "dollar three
 * point five zero", dates as "slash", "Dr." and "Mrs." as sentence ends), so
 * this file rewrites them as the words a reader would say.  Three passes:
 *
 *   1. clean:  validate UTF-8, drop control characters and NULs, map
 *              typographic quotes, dashes and spaces to ASCII, drop quotes
 *              and brackets, collapse whitespace;
 *   2. expand: currency, dates, times, numbers (cardinal, ordinal, year,
 *              decimal, percent, digit by digit beyond 21 digits), Roman
 *              numerals after names and titles, abbreviations by context,
 *              symbols (& + @ % = # °);
 *   3. tidy:   one space between words, one mark per punctuation run, no
 *              space before a mark.
 *
 * After it, a clause mark followed by a space is always a real boundary:
 * abbreviation periods are removed unless they also end the sentence.  It is
 * English only and rule based: it does not guess beyond a word of context.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text/text.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_alpha(char c) { return is_upper(c) || is_lower(c); }
static int is_alnum(char c) { return is_alpha(c) || is_digit(c); }
/* Part of a word: ASCII letter or digit, or any non-ASCII byte. */
static int is_wordc(char c) { return is_alnum(c) || (unsigned char)c >= 0x80; }
static int is_mark(char c) { return c && strchr(",.?!;:", c) != NULL; }

/* ---------------------------------------------------------------- pass 1 */

/* Validate and clean the raw bytes into b (see the file comment). */
static tts_status clean_text(const char *in, size_t n, text_buf *b)
{
    const unsigned char *u = (const unsigned char *)in;
    int space = 1; /* last output was a space (or the start) */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (u[i] == 0) { /* NUL: dropped */
            i++;
            continue;
        }
        if (u[i] == 0x1B && i + 1 < n && u[i + 1] == '[') {
            /* a terminal escape (colours in piped text, "ESC[0m"): dropped
               whole, or its parameters would be read as "zero m" */
            size_t j = i + 2;
            while (j < n && ((u[j] >= '0' && u[j] <= '9') || u[j] == ';' || u[j] == '?'))
                j++;
            if (j < n && u[j] >= 0x40 && u[j] <= 0x7E) {
                i = j + 1;
                continue;
            }
        }
        size_t l = text_utf8_decode(u + i, n - i, &cp);
        if (!l)
            return TTS_ERR_UTF8;
        const char *rep = NULL; /* replacement; NULL keeps the bytes */
        if (cp == '*') {  /* kept between numbers ("2 * 3": times), else a space */
            size_t p = i, q = i + 1;
            while (p > 0 && u[p - 1] == ' ')
                p--;
            while (q < n && u[q] == ' ')
                q++;
            if (!(p > 0 && is_digit((char)u[p - 1]) && q < n && is_digit((char)u[q])))
                rep = " ";
        } else if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
            cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
            cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
            cp == 0x3000)
            rep = " ";
        else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
                 (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF ||
                 cp == 0xAD || (cp >= 0x202A && cp <= 0x202E) ||
                 (cp >= 0xFFF9 && cp <= 0xFFFB) || cp == 0xFFFC || cp == 0xFFFD ||
                 (cp >= 0xE000 && cp <= 0xF8FF))
            rep = "";
        else if (cp == 0x2018 || cp == 0x2019 || cp == 0x201A || cp == 0x2032 ||
                 cp == 0x02BC)
            rep = "'";
        else if (cp == '"' || cp == 0x201C || cp == 0x201D || cp == 0x201E ||
                 cp == 0xAB || cp == 0xBB || cp == 0x2033 || cp == '(' || cp == ')' ||
                 cp == '[' || cp == ']' || cp == '{' || cp == '}' || cp == '<' ||
                 cp == '>' || cp == '*' || cp == '_' || cp == '^' || cp == '`' ||
                 cp == '|' || cp == '\\' || cp == '~' || cp == 0x2039 || cp == 0x203A)
            rep = " ";
        else if (cp == 0x2013 || cp == 0x2010 || cp == 0x2011 || cp == 0x2212)
            rep = "-";
        else if (cp == 0x2014 || cp == 0x2015)
            rep = " - ";
        else if (cp == '.' && i + 2 < n && u[i + 1] == '.' && u[i + 2] == '.') {
            while (i < n && u[i] == '.')
                i++;
            text_buf_puts(b, "\xE2\x80\xA6");
            space = 0;
            continue;
        } else if (cp == '\'') {
            /* an apostrophe inside a word stays; quote marks go */
            int before = i > 0 && is_wordc((char)u[i - 1]);
            int after = i + 1 < n && is_wordc((char)u[i + 1]);
            /* "M.P.'s", "Co.'s": the possessive of an abbreviation */
            int abbr_s = i > 0 && u[i - 1] == '.' && i + 1 < n && u[i + 1] == 's' &&
                         (i + 2 >= n || !is_wordc((char)u[i + 2]));
            if (!(before && after) && !abbr_s)
                rep = " ";
        }
        if (rep && rep[0] == ' ' && rep[1] == '\0') {
            if (!space)
                text_buf_putc(b, ' ');
            space = 1;
        } else if (rep) {
            text_buf_puts(b, rep);
            if (*rep)
                space = rep[strlen(rep) - 1] == ' ';
        } else {
            text_buf_put(b, in + i, l);
            space = 0;
        }
        i += l;
    }
    if (b->failed)
        return TTS_ERR_NOMEM;
    return TTS_OK;
}

/* ---------------------------------------------------------------- words */

static size_t skip_spaces(const char *s, size_t j)
{
    while (s[j] == ' ')
        j++;
    return j;
}

/* Length of the ASCII letter run at s. */
static size_t alpha_len(const char *s)
{
    size_t n = 0;
    while (is_alpha(s[n]))
        n++;
    return n;
}

/* The word before position i, when only spaces separate them: [*ws, *we). */
static int prev_word(const char *s, size_t i, size_t *ws, size_t *we)
{
    size_t j = i;
    while (j > 0 && s[j - 1] == ' ')
        j--;
    if (j == i || j == 0 || !is_alpha(s[j - 1]))
        return 0;
    *we = j;
    while (j > 0 && is_alpha(s[j - 1]))
        j--;
    if (j > 0 && is_wordc(s[j - 1]))
        return 0;
    *ws = j;
    return 1;
}

static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static int word_in(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (word_is(s, n, *list))
            return 1;
    return 0;
}

/* A period at s[j-1] ends the sentence too: the text ends, or the next word
 * starts with a capital letter. */
static int period_ends_sentence(const char *s, size_t j)
{
    j = skip_spaces(s, j);
    return !s[j] || is_upper(s[j]);
}

static int next_word_capitalized(const char *s, size_t j)
{
    j = skip_spaces(s, j);
    return is_upper(s[j]);
}

static const char *const month_names[12] = {
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"};

/* Month number (1-12) of the full month name s[0..n), else 0. */
static int month_of(const char *s, size_t n)
{
    for (int m = 0; m < 12; m++)
        if (word_is(s, n, month_names[m]) && is_upper(s[0]))
            return m + 1;
    return 0;
}

/* Capitalized words that are not names ("The IV" is not "the fourth"). */
static const char *const not_names[] = {
    "The", "A", "An", "In", "On", "Of", "And", "At", "To", "By", "For", "It",
    "He", "She", "We", "They", "You", "His", "Her", "Its", "Our", "Their", "My",
    "If", "But", "Or", "So", "As", "Is", "Was", "Are", "Be", "Not", "Do", "Did",
    "This", "That", "With", "When", "Then", "There", "Here", "From", "Than",
    "Am", "Me", "Us", "Him", "All", "No", "Yes", "What", "Who", "How", "I",
    "After", "Before", "However", "Later", "Now", "Meanwhile", "One", "Some",
    "Many", "Most", "These", "Those", "While", "Although", "Because", "Since",
    "Once", "Why", "Where", "Which", "Every", "Each", "Both", "During", "Today",
    "Let", "Please", "Also", "Still", "Yet", "Only", "Even", "Just",
    "Your", "Such", "Though", "Thus", "Hence", "Finally", "First", "Next", NULL};

/* Stricter, for acronyms ("the U.S. Army"): the text ends or the next word
 * is one that usually starts a sentence ("The", "He", "Then"). */
static int period_ends_sentence_strict(const char *s, size_t j)
{
    j = skip_spaces(s, j);
    size_t n = 0;
    while (is_alpha(s[j + n]))
        n++;
    return !s[j] || (is_upper(s[j]) && word_in(s + j, n, not_names));
}

/* ---------------------------------------------------------------- numbers */

typedef struct number {
    text_buf digits;   /* integer digits without commas */
    size_t int_end;    /* index after the integer part */
    size_t frac_start; /* fraction digits s[frac_start..end) when has_frac */
    size_t end;        /* index after the whole number */
    int has_commas, has_frac;
} number;

/* Parse 123 / 1,234,567 / 3.14 at s[i] (a digit). */
static void parse_number(const char *s, size_t i, number *nb)
{
    memset(nb, 0, sizeof *nb);
    size_t j = i;
    while (is_digit(s[j]))
        j++;
    text_buf_put(&nb->digits, s + i, j - i);
    if (j - i <= 3) {
        while (s[j] == ',' && is_digit(s[j + 1]) && is_digit(s[j + 2]) &&
               is_digit(s[j + 3]) && !is_digit(s[j + 4])) {
            text_buf_put(&nb->digits, s + j + 1, 3);
            nb->has_commas = 1;
            j += 4;
        }
        /* thousands grouped by spaces, as SI writes them: "1 000 000", "12 500",
           "250 000"; three-digit numbers in a row ("100 200 300") stay a list
           unless a group is 000, and a group followed by more digits ("555 123
           4567") is not a number */
        size_t k = j, groups = 0;
        int zeros = 0;
        while (!nb->has_commas && s[k] == ' ' && is_digit(s[k + 1]) && is_digit(s[k + 2]) &&
               is_digit(s[k + 3]) && !is_digit(s[k + 4])) {
            zeros |= s[k + 1] == '0' && s[k + 2] == '0' && s[k + 3] == '0';
            groups++;
            k += 4;
        }
        if (groups && (j - i < 3 || zeros) && !(s[k] == ' ' && is_digit(s[k + 1]))) {
            for (size_t g = j; g < k; g += 4) text_buf_put(&nb->digits, s + g + 1, 3);
            nb->has_commas = 1;
            j = k;
        }
    }
    nb->int_end = j;
    if (s[j] == '.' && is_digit(s[j + 1])) {
        nb->has_frac = 1;
        nb->frac_start = j + 1;
        j++;
        while (is_digit(s[j]))
            j++;
    }
    nb->end = j;
}

/* Value of a short digit string, or -1 when longer than 9 digits. */
static long small_value(const char *d, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t k = 0; k < n; k++)
        v = v * 10 + (d[k] - '0');
    return v;
}

static void put_value(text_buf *o, long v)
{
    char tmp[24];
    size_t n = 0;
    char rev[24];
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof rev);
    for (size_t k = 0; k < n; k++)
        tmp[k] = rev[n - 1 - k];
    text_num_cardinal(o, tmp, n);
}

static void put_ordinal_value(text_buf *o, long v)
{
    char tmp[24];
    int n = 0;
    char rev[24];
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof rev);
    for (int k = 0; k < n; k++)
        tmp[k] = rev[n - 1 - k];
    text_num_ordinal(o, tmp, (size_t)n);
}

/* Cardinal of the integer part, then " point d d d" for the fraction. */
static void put_number(text_buf *o, const char *s, const number *nb)
{
    text_num_cardinal(o, nb->digits.data, nb->digits.len);
    if (nb->has_frac) {
        text_buf_puts(o, nb->digits.len ? " point " : "point ");
        text_num_digits(o, s + nb->frac_start, nb->end - nb->frac_start);
    }
}

static int is_year_digits(const char *d, size_t n)
{
    return n == 4 && (d[0] == '1' || (d[0] == '2' && d[1] == '0'));
}

/* Plural of the last word of o from start on: "nineties", "hundreds". */
static void pluralize_tail(text_buf *o, size_t start)
{
    if (o->failed || o->len <= start)
        return;
    if (o->data[o->len - 1] == 'y') {
        o->len--;
        o->data[o->len] = '\0';
        text_buf_puts(o, "ies");
    } else if (o->data[o->len - 1] == 'x') {
        text_buf_puts(o, "es");
    } else {
        text_buf_puts(o, "s");
    }
}

/* am/pm after a number at s[j] (optionally after one space): returns the
 * length matched (including a final '.') and sets *pm; 0 when none.
 * *period is set when the match ends with a period. */
static size_t match_ampm(const char *s, size_t j, int *pm, int *period)
{
    size_t k = j;
    if (s[k] == ' ')
        k++;
    char c = s[k];
    if (c != 'a' && c != 'p' && c != 'A' && c != 'P')
        return 0;
    *pm = c == 'p' || c == 'P';
    *period = 0;
    if ((s[k + 1] == 'm' || s[k + 1] == 'M') && !is_wordc(s[k + 2]) && s[k + 2] != '.')
        return k + 2 - j;
    if (s[k + 1] == '.' && (s[k + 2] == 'm' || s[k + 2] == 'M') && s[k + 3] == '.' &&
        !is_wordc(s[k + 4])) {
        *period = 1;
        return k + 4 - j;
    }
    if ((s[k + 1] == 'm' || s[k + 1] == 'M') && s[k + 2] == '.' && !is_wordc(s[k + 3])) {
        *period = 1;
        return k + 3 - j;
    }
    return 0;
}

/* After an expansion that swallowed an abbreviation period at s[j-1]: keep
 * a "." when it also ends the sentence. */
static void put_period_if_end(text_buf *o, const char *s, size_t j)
{
    if (period_ends_sentence(s, j))
        text_buf_putc(o, '.');
}

static void put_time(text_buf *o, long h, long m, long sec, int ampm)
{
    put_value(o, h);
    if (m == 0 && sec <= 0) {
        if (!ampm)
            text_buf_puts(o, h >= 1 && h <= 12 ? " o'clock" : " hundred");
    } else {
        text_buf_putc(o, ' ');
        if (m < 10)
            text_buf_puts(o, "oh ");
        put_value(o, m);
    }
    if (ampm)
        text_buf_puts(o, ampm == 2 ? " PM" : " AM");
    if (sec > 0) {
        text_buf_puts(o, " and ");
        put_value(o, sec);
        text_buf_puts(o, sec == 1 ? " second" : " seconds");
    }
}

static void put_date(text_buf *o, long month, long day, const char *year, size_t year_len)
{
    text_buf_puts(o, month_names[month - 1]);
    text_buf_putc(o, ' ');
    put_ordinal_value(o, day);
    if (year_len) {
        text_buf_puts(o, ", ");
        if (year_len == 4 && year[0] != '0')
            text_num_year(o, year);
        else if (year_len == 2 && year[0] == '0') {
            text_buf_puts(o, "oh ");
            text_num_digits(o, year + 1, 1);
        } else
            text_num_cardinal(o, year, year_len);
    }
}

/* Words after which H:MM:SS is a time of day ("at 10:30:15", "until
 * 23:59:59"), and words after which it is a length of time ("in 2:05:30",
 * "a time of 1:59:40"). */
static const char *const clock_words[] = {
    "at", "by", "until", "till", "from", "since", "before", "around", "about", NULL};
static const char *const duration_words[] = {
    "in", "of", "for", "lasted", "took", "takes", "time", "record", "ran", "run",
    "clocked", "finished", "length", "runtime", NULL};

/* H:MM:SS at s[i] with hours h and no am/pm: a duration or a clock time?
 * The word before decides when it can ("at 10:30:15" a time, "in 2:05:30" a
 * duration); bare, a one-digit hour is a duration (race results, running
 * times: "1:59:40") and a two-digit one a timestamp ("23:59:59", the form
 * logs and schedules use). */
static int is_duration(const char *s, size_t i, long h)
{
    size_t ws, we;
    if (prev_word(s, i, &ws, &we)) {
        if (word_in(s + ws, we - ws, clock_words))
            return 0;
        if (word_in(s + ws, we - ws, duration_words))
            return 1;
    }
    return h < 10;
}

/* "one hour fifty-nine minutes forty seconds"; zero fields are left out. */
static void put_duration(text_buf *o, long h, long m, long sec)
{
    const char *sep = "";
    if (h > 0) {
        put_value(o, h);
        text_buf_puts(o, h == 1 ? " hour" : " hours");
        sep = " ";
    }
    if (m > 0) {
        text_buf_puts(o, sep);
        put_value(o, m);
        text_buf_puts(o, m == 1 ? " minute" : " minutes");
        sep = " ";
    }
    if (sec > 0 || (h == 0 && m == 0)) {
        text_buf_puts(o, sep);
        put_value(o, sec);
        text_buf_puts(o, sec == 1 ? " second" : " seconds");
    }
}

/* Digits run at s[i], its length. */
static size_t digit_len(const char *s)
{
    size_t n = 0;
    while (is_digit(s[n]))
        n++;
    return n;
}

/* Dates 12/05/2024, 2024-05-12 and times 10:30, 8:00 pm, 10:30:15 at s[i].
 * Returns the length consumed, 0 when it is neither. */
static size_t try_date_time(const char *s, size_t i, text_buf *o)
{
    size_t a = digit_len(s + i);
    /* D/M/Y or M/D/Y (also with hyphens, then only with a four-digit year:
       "3-4-21" is more likely a score or a code); the month comes first
       unless it cannot */
    char sep = s[i + a];
    if (a <= 2 && (sep == '/' || sep == '-')) {
        size_t b = digit_len(s + i + a + 1);
        size_t yat = i + a + 1 + b + 1;
        if (b >= 1 && b <= 2 && s[i + a + 1 + b] == sep) {
            size_t y = digit_len(s + yat);
            if ((y == 4 || (y == 2 && sep == '/')) && !is_wordc(s[yat + y]) &&
                !(s[yat + y] == sep || (s[yat + y] == '.' && is_digit(s[yat + y + 1])))) {
                long p = small_value(s + i, a), q = small_value(s + i + a + 1, b);
                long month = 0, day = 0;
                if (p >= 1 && p <= 12 && q >= 1 && q <= 31) {
                    month = p; day = q;
                } else if (q >= 1 && q <= 12 && p >= 1 && p <= 31) {
                    month = q; day = p;
                }
                if (month) {
                    put_date(o, month, day, s + yat, y);
                    return yat + y - i;
                }
            }
        }
    }
    /* ISO 2024-05-12 */
    if (a == 4 && s[i + 4] == '-' && is_digit(s[i + 5]) && is_digit(s[i + 6]) &&
        s[i + 7] == '-' && is_digit(s[i + 8]) && is_digit(s[i + 9]) &&
        !is_wordc(s[i + 10])) {
        long month = small_value(s + i + 5, 2), day = small_value(s + i + 8, 2);
        if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && s[i] != '0') {
            put_date(o, month, day, s + i, 4);
            return 10;
        }
    }
    /* H:MM[:SS] [am|pm] */
    if (a <= 2 && s[i + a] == ':' && is_digit(s[i + a + 1]) && is_digit(s[i + a + 2]) &&
        !is_digit(s[i + a + 3])) {
        long h = small_value(s + i, a), m = small_value(s + i + a + 1, 2), sec = -1;
        size_t j = i + a + 3;
        if (s[j] == ':' && is_digit(s[j + 1]) && is_digit(s[j + 2]) && !is_digit(s[j + 3])) {
            sec = small_value(s + j + 1, 2);
            j += 3;
        }
        int pm = 0, period = 0;
        size_t l = match_ampm(s, j, &pm, &period); /* "5:30 pm", "5:30pm" */
        if (h <= 24 && m <= 59 && sec <= 59 && (!is_alnum(s[j]) || l) &&
            !(s[j] == ':' && is_digit(s[j + 1]))) {
            int ampm = l && h >= 1 && h <= 12 ? (pm ? 2 : 1) : 0;
            if (!ampm)
                l = 0;
            if (sec >= 0 && !ampm && is_duration(s, i, h))
                put_duration(o, h, m, sec);
            else
                put_time(o, h, m, sec, ampm);
            if (period)
                put_period_if_end(o, s, j + l);
            return j + l - i;
        }
    }
    return 0;
}

/* a/b at s[i] that is no fraction: a score out of ten or a hundred
 * ("98/100" is "ninety-eight out of a hundred", "9/10 dentists" "nine out of
 * ten"; any total after a word of marking: "rated 4/5"), or a month and day
 * after a word that takes a date ("on 5/12" is "on May twelfth").  "3/10 of
 * a mile" stays a fraction: "of" after it asks for one. */
static size_t try_score_or_day(const char *s, size_t i, text_buf *o)
{
    static const char *const marking[] = {
        "scored", "score", "scores", "scoring", "rated", "rating", "ratings", "rate",
        "rates", "marks", "marked", "graded", "grade", "got", "gets", "get", NULL};
    static const char *const date_words[] = {"on", "until", "till", "since", "dated",
                                             "due", NULL};
    size_t a = digit_len(s + i);
    if (a > 3 || s[i + a] != '/' || !is_digit(s[i + a + 1]))
        return 0;
    size_t b = digit_len(s + i + a + 1), e = i + a + 1 + b;
    if (b > 3 || is_wordc(s[e]) || s[e] == '/' ||
        ((s[e] == '.' || s[e] == ',' || s[e] == '-') && is_digit(s[e + 1])) ||
        (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '/' || s[i - 1] == '.')))
        return 0;
    size_t nx = skip_spaces(s, e);
    if (nx > e && word_is(s + nx, alpha_len(s + nx), "of"))
        return 0;
    long num = small_value(s + i, a), den = small_value(s + i + a + 1, b);
    size_t ws, we;
    int pw = prev_word(s, i, &ws, &we);
    if (pw && word_in(s + ws, we - ws, date_words) && num >= 1 && num <= 12 && den >= 1 &&
        den <= 31 && s[i] != '0') {
        text_buf_puts(o, month_names[num - 1]);
        text_buf_putc(o, ' ');
        put_ordinal_value(o, den);
        return e - i;
    }
    int score = (den == 10 || den == 100) ||
                (pw && word_in(s + ws, we - ws, marking) && den >= 2 && den <= 100);
    if (!score || num > den || (a > 1 && s[i] == '0'))
        return 0;
    put_value(o, num);
    text_buf_puts(o, " out of ");
    if (den == 100)
        text_buf_puts(o, "a hundred");
    else
        put_value(o, den);
    return e - i;
}

/* A simple fraction 1/2, 3/4, 2/3 at s[i]: its length, 0 when it is none
 * (denominators 2-16 only: "5/31" is more likely a date or a ratio). */
static size_t parse_fraction(const char *s, size_t i, long *num, long *den)
{
    size_t a = digit_len(s + i);
    if (a != 1 || s[i + 1] != '/' || !is_digit(s[i + 2]))
        return 0;
    size_t b = digit_len(s + i + 2);
    if (b > 2 || is_wordc(s[i + 2 + b]) || s[i + 2 + b] == '/')
        return 0;
    *num = s[i] - '0';
    *den = small_value(s + i + 2, b);
    if (*den < 2 || *den > 16 || *num < 1)
        return 0;
    return 2 + b;
}

/* "three quarters"; after a whole number (mixed) a numerator of one is
 * said "a": "one and a half", "two and an eighth". */
static void put_fraction(text_buf *o, long num, long den, int mixed)
{
    if (mixed && num == 1)
        text_buf_puts(o, den == 8 || den == 11 ? "an" : "a");
    else
        put_value(o, num);
    text_buf_putc(o, ' ');
    if (den == 2)
        text_buf_puts(o, num == 1 ? "half" : "halves");
    else if (den == 4)
        text_buf_puts(o, num == 1 ? "quarter" : "quarters");
    else {
        size_t start = o->len;
        put_ordinal_value(o, den);
        if (num != 1)
            pluralize_tail(o, start);
    }
}

static size_t try_fraction(const char *s, size_t i, text_buf *o)
{
    long num, den;
    size_t l = parse_fraction(s, i, &num, &den);
    if (l)
        put_fraction(o, num, den, 0);
    return l;
}

/* Telephone numbers at s[i]: 555-1234, 555-123-4567, 1-800-555-1234 and
 * "(555) 123-4567" (its brackets are spaces by now), and ZIP+4 codes.  Read digit by digit,
 * a pause (comma) between the groups, as people read them out; "zero"
 * rather than "oh" because it is never misheard. */
static size_t try_phone(const char *s, size_t i, text_buf *o)
{
    if (i > 0 && (is_digit(s[i - 1]) || strchr("-.,$/", s[i - 1])))
        return 0;
    if (digit_len(s + i) == 5 && s[i + 5] == '-' && digit_len(s + i + 6) == 4 &&
        !is_wordc(s[i + 10]) && !(s[i + 10] && strchr("-./,", s[i + 10]) && is_digit(s[i + 11]))) {
        /* a ZIP+4 code, 02110-1301: digit by digit too */
        text_num_digits(o, s + i, 5);
        text_buf_puts(o, ", ");
        text_num_digits(o, s + i + 6, 4);
        return 10;
    }
    /* "+1 555 123 4567", "+44 20 7946 0958": after a plus sign (already
       read "plus"), a country code and groups split by spaces, hyphens or
       dots, 8 to 15 digits in all (the longest an international number can
       be), is a telephone number whatever its grouping */
    int intl = i > 0 && s[i - 1] == '+' && digit_len(s + i) <= 3;
    size_t at[6], len[6], ng = 0, j = i, max_groups = intl ? 6 : 4, n_digits = 0;
    char sep = 0; /* the separator, the same between all groups */
    for (;;) {
        size_t d = digit_len(s + j);
        if (d == 0 || d > 4 || ng == max_groups)
            return 0;
        at[ng] = j;
        len[ng++] = d;
        n_digits += d;
        j += d;
        char c = s[j];
        if ((c == '-' || c == '.' || (intl && c == ' ')) && (!sep || c == sep) &&
            is_digit(s[j + 1])) {
            sep = c;
            j++;
        } else if (!intl && ng == 1 && d == 3 && s[j] == ' ' &&
                   digit_len(s + skip_spaces(s, j)) == 3 && s[skip_spaces(s, j) + 3] == '-') {
            j = skip_spaces(s, j); /* "(555) 123-4567" (spaces are not collapsed yet) */
        } else {
            break;
        }
    }
    if (is_wordc(s[j]) || ((s[j] == '.' || s[j] == ',' || s[j] == '/') && is_digit(s[j + 1])))
        return 0;
    static const size_t shapes[3][4] = {{3, 4, 0, 0}, {3, 3, 4, 0}, {1, 3, 3, 4}};
    int ok = 0;
    for (size_t k = 0; k < 3 && !ok && ng <= 4; k++) {
        size_t nk = shapes[k][3] ? 4 : shapes[k][2] ? 3 : 2;
        ok = nk == ng;
        for (size_t g = 0; ok && g < ng; g++)
            ok = len[g] == shapes[k][g];
    }
    if (intl)
        ok = ng >= 3 && n_digits >= 8 && n_digits <= 15;
    /* "9-1-1", "1-2-3": single digits in a row are said one by one */
    if (!ok && ng >= 3 && sep == '-' && n_digits == ng)
        ok = 1;
    /* 555-1234 alone could be a range: a North American exchange never
       starts with 0 or 1, so "100-1000" is one ("(555) 123-4567" is a
       number whatever its digits); dots only in the full shapes
       (555.123.4567), as 555.1234 is a decimal */
    if (!ok || (ng == 2 && s[at[0]] < '2') || (sep == '.' && ng < 3))
        return 0;
    for (size_t g = 0; g < ng; g++) {
        if (g)
            text_buf_puts(o, n_digits == ng ? " " : ", ");
        text_num_digits(o, s + at[g], len[g]);
    }
    return j - i;
}

/* Three-digit service numbers, 911, 411, 999, 112, at s[i]: said digit by
 * digit ("nine one one"), but only where the context says it is a number to
 * call ("call 911", "a 911 operator"); elsewhere 911 stays a quantity ("911
 * pages") or a name the other rules read ("the 911" is a car). */
static size_t try_service_number(const char *s, size_t i, text_buf *o)
{
    static const char *const before[] = {
        "call", "calls", "called", "calling", "dial", "dials", "dialed", "dialled",
        "dialing", "dialling", "phone", "phoned", "ring", "rang", "text", "texted", NULL};
    static const char *const after[] = {
        "call", "calls", "caller", "callers", "operator", "operators", "dispatcher",
        "dispatchers", "dispatch", "center", "centre", "emergency", "line", "service", NULL};
    if (digit_len(s + i) != 3 || is_wordc(s[i + 3]) ||
        ((s[i + 3] == '.' || s[i + 3] == ',' || s[i + 3] == '-' || s[i + 3] == '/' ||
          s[i + 3] == ':') && is_digit(s[i + 4])) ||
        (i > 0 && (is_digit(s[i - 1]) || strchr("-.,$/+", s[i - 1]))))
        return 0;
    int code = (s[i] >= '2' && s[i + 1] == '1' && s[i + 2] == '1') ||
               strncmp(s + i, "999", 3) == 0 || strncmp(s + i, "112", 3) == 0;
    size_t ws, we, nx = skip_spaces(s, i + 3);
    if (!code || !((prev_word(s, i, &ws, &we) && word_in(s + ws, we - ws, before)) ||
                   (nx > i + 3 && word_in(s + nx, alpha_len(s + nx), after))))
        return 0;
    text_num_digits(o, s + i, 3);
    return 3;
}

/* A unit of measure after a number ending at s[j]: "5 km", "5km", "3 ft.",
 * "6 sq ft", "a 5-km run" (the hyphen makes it an adjective: singular). */
typedef struct unit_match {
    const text_unit *u;
    size_t len;        /* bytes from j, the period included */
    int adjective, square, period;
} unit_match;

static int match_unit(const char *s, size_t j, unit_match *m, int after_feet)
{
    size_t k = j;
    memset(m, 0, sizeof *m);
    if (s[k] == ' ')
        k++;
    else if (s[k] == '-' && is_alpha(s[k + 1]))
        k++, m->adjective = 1;
    if (s[k] == 's' && s[k + 1] == 'q' && (s[k + 2] == ' ' || (s[k + 2] == '.' && s[k + 3] == ' '))) {
        m->square = 1; /* "6 sq ft", "6 sq. ft." */
        k += s[k + 2] == '.' ? 4 : 3;
    }
    size_t n = alpha_len(s + k);
    if (n == 0 || n > 4)
        return 0;
    if (s[k + n] == '/' && is_alpha(s[k + n + 1]) && alpha_len(s + k + n + 1) <= 4) {
        size_t n2 = n + 1 + alpha_len(s + k + n + 1); /* "km/h", "m/s" */
        m->u = text_unit_find(s + k, n2);
        if (m->u)
            n = n2;
    }
    if (!m->u)
        m->u = text_unit_find(s + k, n);
    if (!m->u && n == 1 && s[k] == 's' && !m->square)
        /* a bare "s" after a number is seconds ("30 s", "4.2s"); it is not in
           the table because "1990s" is a decade, which try_number reads
           before any unit, so only a spaced "s" or one after a decimal
           reaches here */
        m->u = text_unit_find("sec", 3);
    if (!m->u)
        return 0;
    size_t e = k + n;
    m->period = s[e] == '.' && !is_alnum(s[e + 1]);
    if (m->u->needs_period && !m->period && !after_feet)
        return 0; /* "5 in the box"; but "6 ft 2 in" is a height */
    if (is_wordc(s[e]) || s[e] == '/' || s[e] == '\'' || (s[e] == '-' && is_alnum(s[e + 1])) ||
        (s[e] == '.' && !m->period))
        return 0;
    /* "5 W Main St": a single capital before a name is a direction or an
       initial, not watts or volts */
    if (n == 1 && is_upper(s[k]) && next_word_capitalized(s, e))
        return 0;
    m->len = e + (size_t)m->period - j;
    return 1;
}

/* The number at s[i] follows a length in feet: "6 ft 2", "6 ft. 2", "5 feet 10". */
static int follows_feet(const char *s, size_t i)
{
    size_t j = i;
    while (j > 0 && s[j - 1] == ' ')
        j--;
    if (j == i)
        return 0;
    if (j > 0 && s[j - 1] == '.')
        j--;
    size_t we = j;
    while (j > 0 && is_alpha(s[j - 1]))
        j--;
    if (j > 0 && is_wordc(s[j - 1]))
        return 0;
    return word_is(s + j, we - j, "ft") || word_is(s + j, we - j, "feet") ||
           word_is(s + j, we - j, "foot");
}

/* The word before s[i] is "a" or "an": the quantity that follows is an
 * adjective ("a 2.5 kg bag", "a $300 million deal"), its unit singular. */
static int after_article(const char *s, size_t i)
{
    size_t ws, we;
    return prev_word(s, i, &ws, &we) &&
           (word_is(s + ws, we - ws, "a") || word_is(s + ws, we - ws, "an"));
}

/* " kilometers" (or the singular after exactly one); an abbreviation period
 * is kept only when it also ends the sentence. */
static void put_unit(text_buf *o, const char *s, size_t j, const unit_match *m, int one)
{
    text_buf_puts(o, m->square ? " square " : " ");
    text_buf_puts(o, one || m->adjective ? m->u->one : m->u->many);
    if (m->period)
        put_period_if_end(o, s, j + m->len);
}

/* The word after "5K" (at s[j]) makes the K part of a name: a race ("a 5K
 * run"), a screen resolution ("a 4K TV"), a retirement plan ("a 401k plan"). */
static int k_is_name(const char *s, size_t j)
{
    static const char *const names[] = {
        "run", "runs", "race", "races", "walk", "walks", "TV",
        "TVs", "display", "displays", "monitor", "monitors", "screen", "screens",
        "video", "videos", "resolution", "camera", "cameras", "stream", "streaming",
        "gaming", "HDR", "UHD", "Ultra", "plan", "plans", "account", "accounts", NULL};
    size_t k = skip_spaces(s, j);
    return (k > j || s[k] == '-') && word_in(s + k + (s[k] == '-'),
                                              alpha_len(s + k + (s[k] == '-')), names);
}

/* Makers whose products are named by numbers: after them a number is a
 * model ("Boeing 747"), said in pairs of digits. */
static const char *const model_makers[] = {
    "Boeing", "Airbus", "Cessna", "Lockheed", "Porsche", "Peugeot", "Xbox", "Nikon",
    "Yamaha", "Kawasaki", "Ducati", "Volvo", "Saab", "Fiat", NULL};

/* The number at s[i] follows "the"/"a"/"an" or a maker: it may be a model. */
static int model_before(const char *s, size_t i)
{
    size_t ws, we;
    if (!prev_word(s, i, &ws, &we))
        return 0;
    return word_is(s + ws, we - ws, "the") || word_is(s + ws, we - ws, "a") ||
           word_is(s + ws, we - ws, "an") || word_in(s + ws, we - ws, model_makers);
}

/* A number of three or four digits at s[i..j) is a model number ("the
 * 747", "the 1080 Ti", "Boeing 737"): said in pairs of digits ("seven
 * forty-seven").  After "the" or "a" a number is a model only when no noun
 * follows it, as a quantity has one ("the 300 Spartans" is capitalized, but
 * "the 128 best", "the 365 days" are not models): what follows must be the
 * end of the clause, a capitalized word ("Ti", "MAX"), a verb in the singular
 * ("the 747 was", one thing, not many) or a word naming a machine.  Round
 * hundreds are quantities ("the 100 best"). */
static int is_model_number(const char *s, size_t i, size_t j, const number *nb)
{
    static const char *const follows[] = {
        "is", "was", "has", "does", "remains", "became", "flies", "flew", "uses", "used",
        "entered", "features", "jet", "jetliner", "airliner", "plane", "model", "engine",
        "chip", "card", "GPU", "CPU", "processor", NULL};
    const char *d = nb->digits.data;
    size_t nd = nb->digits.len, ws, we;
    if (nb->has_frac || nb->has_commas || (nd != 3 && nd != 4) || d[0] == '0' ||
        (nd == 3 && d[1] == '0' && d[2] == '0') || !model_before(s, i))
        return 0;
    if (prev_word(s, i, &ws, &we) && word_in(s + ws, we - ws, model_makers))
        return 1;
    size_t k = skip_spaces(s, j);
    if (!s[k] || is_mark(s[k]))
        return 1; /* "the 747.", "the 747, which" */
    if (k == j)
        return 0;
    size_t wl = alpha_len(s + k);
    return wl && (is_upper(s[k]) || word_in(s + k, wl, follows));
}

/* 747 "seven forty-seven", 705 "seven oh five", 1080 "ten eighty". */
static void put_model_number(text_buf *o, const char *d, size_t nd)
{
    if (nd == 4) {
        text_num_year(o, d);
        return;
    }
    text_num_digits(o, d, 1);
    text_buf_putc(o, ' ');
    if (d[1] == '0')
        text_buf_puts(o, "oh ");
    text_num_small(o, (unsigned)((d[1] - '0') * 10 + (d[2] - '0')));
}

/* Any number at s[i] (a digit) with what follows it: ordinal suffix, "%",
 * "s" (1990s), am/pm, " May" (5 May).  Returns the length consumed. */
static size_t try_number(const char *s, size_t i, text_buf *o)
{
    size_t l = try_phone(s, i, o);
    if (!l)
        l = try_service_number(s, i, o);
    if (l)
        return l;
    l = try_date_time(s, i, o);
    if (l)
        return l;
    /* set phrases that are no fractions */
    if (strncmp(s + i, "24/7", 4) == 0 && !is_wordc(s[i + 4]) && s[i + 4] != '/') {
        text_buf_puts(o, "twenty-four seven");
        return 4;
    }
    if (strncmp(s + i, "9/11", 4) == 0 && !is_wordc(s[i + 4]) && s[i + 4] != '/') {
        text_buf_puts(o, "nine eleven");
        return 4;
    }
    if ((strncmp(s + i, "50/50", 5) == 0 || strncmp(s + i, "50-50", 5) == 0) &&
        !is_wordc(s[i + 5]) && s[i + 5] != '/' && s[i + 5] != '-') {
        text_buf_puts(o, "fifty-fifty");
        return 5;
    }
    l = try_score_or_day(s, i, o);
    if (!l)
        l = try_fraction(s, i, o);
    if (l)
        return l;
    number nb;
    parse_number(s, i, &nb);
    const char *d = nb.digits.data;
    size_t nd = nb.digits.len, j = nb.end;
    size_t used = j - i;
    if (nb.digits.failed) {
        o->failed = 1;
    } else if (s[j] == '%') {
        put_number(o, s, &nb);
        text_buf_puts(o, " percent");
        used++;
    } else if (!nb.has_frac && is_alpha(s[j]) && is_alpha(s[j + 1]) && !is_wordc(s[j + 2]) &&
               (word_is(s + j, 2, "st") || word_is(s + j, 2, "nd") ||
                word_is(s + j, 2, "rd") || word_is(s + j, 2, "th"))) {
        /* "4th July" is said "the fourth of July"; "5th of May" needs nothing
           more; "May 5th" is handled by the month */
        size_t mat = s[j + 2] == ' ' ? alpha_len(s + j + 3) : 0;
        int month = mat && !is_wordc(s[j + 3 + mat]) ? month_of(s + j + 3, mat) : 0;
        if (month)
            text_buf_puts(o, "the ");
        text_num_ordinal(o, d, nd);
        if (month)
            text_buf_puts(o, " of");
        used += 2;
    } else if (!nb.has_frac && (s[j] == 's' || (s[j] == '\'' && s[j + 1] == 's')) &&
               !is_wordc(s[j + (s[j] == 's' ? 1 : 2)])) {
        size_t start = o->len;
        if (!nb.has_commas && is_year_digits(d, nd) && nd == 4)
            text_num_year(o, d);
        else
            text_num_cardinal(o, d, nd);
        if (nd <= TEXT_NUM_MAX_DIGITS)
            pluralize_tail(o, start);
        used += s[j] == 's' ? 1 : 2;
    } else {
        int pm = 0, period = 0;
        size_t al = nb.has_frac || nb.has_commas ? 0 : match_ampm(s, j, &pm, &period);
        long v = small_value(d, nd);
        size_t mat = s[j] == ' ' ? alpha_len(s + j + 1) : 0;
        int month = mat ? month_of(s + j + 1, mat) : 0;
        int one = nd == 1 && d[0] == '1' && !nb.has_frac;
        long fn = 0, fd = 0;
        size_t fl = !nb.has_frac && s[j] == ' ' ? parse_fraction(s, j + 1, &fn, &fd) : 0;
        unit_match um;
        size_t il = s[j] == '\'' ? digit_len(s + j + 1) : 0;
        if (il >= 1 && il <= 2 && nd == 1 && !nb.has_frac && small_value(s + j + 1, il) < 12 &&
            !is_wordc(s[j + 1 + il]) && s[j + 1 + il] != '\'') {
            /* 5'10" (the inch mark is gone by now): a height */
            put_number(o, s, &nb);
            text_buf_puts(o, one ? " foot " : " feet ");
            long inches = small_value(s + j + 1, il);
            put_value(o, inches);
            text_buf_puts(o, inches == 1 ? " inch" : " inches");
            used += 1 + il;
        } else if (fl) {
            /* a mixed number: "1 1/2" -> "one and a half" */
            put_number(o, s, &nb);
            text_buf_puts(o, " and ");
            put_fraction(o, fn, fd, 1);
            used += 1 + fl;
        } else if (!al && match_unit(s, j, &um, follows_feet(s, i))) {
            /* a quantity: never a year ("1500 m" is not "fifteen hundred") */
            put_number(o, s, &nb);
            put_unit(o, s, j, &um, one || after_article(s, i));
            used += um.len;
        } else if ((s[j] == 'K' || s[j] == 'k') && !is_wordc(s[j + 1]) && s[j + 1] != '\'' &&
                   !nb.has_commas && !k_is_name(s, j + 1)) {
            /* "3K", "2.5k followers": thousands, the common use in prose;
               a race and a screen keep their letter ("a 5K run", "4K TV") */
            put_number(o, s, &nb);
            text_buf_puts(o, " thousand");
            used++;
        } else if (s[j] == 'x' && is_digit(s[j + 1]) && !nb.has_frac && !(nd == 1 && d[0] == '0')) {
            /* "4x4", "1920x1080": dimensions are said "by", and both sides
               are quantities (never "ten eighty" as a year) */
            put_number(o, s, &nb);
            text_buf_puts(o, " by ");
            number nb2;
            parse_number(s, j + 1, &nb2);
            if (nb2.digits.failed)
                o->failed = 1;
            put_number(o, s, &nb2);
            used = nb2.end - i;
            if (match_unit(s, nb2.end, &um, 0)) { /* "4 x 8 ft" */
                put_unit(o, s, nb2.end, &um, 0);
                used += um.len;
            }
            text_buf_free(&nb2.digits);
        } else if ((unsigned char)s[j] == 0xC2 && (unsigned char)s[j + 1] == 0xA2) { /* ¢ */
            put_number(o, s, &nb);
            text_buf_puts(o, one ? " cent" : " cents");
            used += 2;
        } else if (al && v >= 1 && v <= 12) {
            put_time(o, v, 0, -1, pm ? 2 : 1);
            used += al;
            if (period)
                put_period_if_end(o, s, j + al);
        } else if (month && !nb.has_frac && !nb.has_commas && v >= 1 && v <= 31 &&
                   d[0] != '0' && !is_wordc(s[j + 1 + mat])) {
            text_buf_puts(o, "the ");
            text_num_ordinal(o, d, nd);
            text_buf_puts(o, " of");
        } else if (is_model_number(s, i, j, &nb)) {
            put_model_number(o, d, nd);
        } else if (!nb.has_frac && !nb.has_commas && is_year_digits(d, nd)) {
            text_num_year(o, d);
        } else {
            put_number(o, s, &nb);
        }
    }
    text_buf_free(&nb.digits);
    i += used;
    if (is_wordc(s[i]))
        text_buf_putc(o, ' '); /* "10km" -> "ten km" */
    return used;
}

/* ---------------------------------------------------------------- currency */

/* The scale a letter suffix gives an amount of money: "$5m", "$2.5bn",
 * "$10k" (the financial press's forms; after a currency sign an "m" cannot
 * be meters).  NULL when s[0..n) is none of them. */
static const char *money_scale(const char *s, size_t n)
{
    static const struct { const char *suffix, *word; } t[] = {
        {"k", "thousand"}, {"K", "thousand"}, {"m", "million"}, {"M", "million"},
        {"mn", "million"}, {"bn", "billion"}, {"b", "billion"}, {"B", "billion"},
        {"tn", "trillion"}, {"T", "trillion"}};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
        if (strlen(t[k].suffix) == n && memcmp(t[k].suffix, s, n) == 0)
            return t[k].word;
    return NULL;
}

/* Old British money after "£N" at s[j]: " 10s" (shillings, 1-19) and then
 * " 6d" (pence, 1-11), as "£5 10s 6d" is written; returns the characters
 * taken (0: none) and says them ("ten shillings and six pence"). */
static size_t try_shillings(const char *s, size_t j, text_buf *o)
{
    size_t a = j + 1, n = 0;
    while (n < 3 && is_digit(s[a + n]))
        n++;
    long sh = s[j] == ' ' ? small_value(s + a, n) : -1;
    if (sh < 1 || sh > 19 || s[a + n] != 's' || is_wordc(s[a + n + 1]))
        return 0;
    size_t end = a + n + 1;
    text_buf_putc(o, ' ');
    put_value(o, sh);
    text_buf_puts(o, sh == 1 ? " shilling" : " shillings");
    size_t b = end + 1, m = 0;
    while (m < 3 && is_digit(s[b + m]))
        m++;
    long d = s[end] == ' ' ? small_value(s + b, m) : -1;
    if (d >= 1 && d <= 11 && s[b + m] == 'd' && !is_wordc(s[b + m + 1])) {
        text_buf_puts(o, " and ");
        put_value(o, d);
        text_buf_puts(o, d == 1 ? " penny" : " pence");
        end = b + m + 1;
    }
    return end - j;
}

/* $3.50, £20, €1,200, ¥500, $1.5 million, $5m at s[i].  nation goes before
 * the currency's name ("US " for "US$5": "five US dollars"); the quantity
 * starts at s[start] (before the nation's letters), where "a" makes it an
 * adjective. */
static size_t try_currency_of(const char *s, size_t i, size_t start, const char *nation,
                              text_buf *o)
{
    static const struct {
        const char *sym, *one, *many, *sub_one, *sub_many;
    } cur[] = {
        {"$", "dollar", "dollars", "cent", "cents"},
        {"\xC2\xA3", "pound", "pounds", "penny", "pence"},
        {"\xE2\x82\xAC", "euro", "euros", "cent", "cents"},
        {"\xC2\xA5", "yen", "yen", NULL, NULL},
    };
    size_t k, sl = 0;
    for (k = 0; k < sizeof cur / sizeof cur[0]; k++) {
        sl = strlen(cur[k].sym);
        if (strncmp(s + i, cur[k].sym, sl) == 0)
            break;
    }
    if (k == sizeof cur / sizeof cur[0] || !is_digit(s[i + sl]))
        return 0;
    number nb;
    parse_number(s, i + sl, &nb);
    size_t j = nb.end;
    static const char *const scale_words[] = {"thousand", "million", "billion",
                                              "trillion", NULL};
    size_t wl = s[j] == ' ' ? alpha_len(s + j + 1) : 0;
    const char *d = nb.digits.data;
    size_t nd = nb.digits.len;
    size_t sl2 = alpha_len(s + j);
    const char *scale = sl2 && !is_wordc(s[j + sl2]) ? money_scale(s + j, sl2) : NULL;
    if (nb.digits.failed) {
        o->failed = 1;
    } else if (scale) {
        /* $5m, $2.5bn, $10k -> five million dollars */
        put_number(o, s, &nb);
        text_buf_putc(o, ' ');
        text_buf_puts(o, scale);
        text_buf_putc(o, ' ');
        text_buf_puts(o, nation);
        text_buf_puts(o, after_article(s, start) ? cur[k].one : cur[k].many);
        j += sl2;
    } else if (wl && word_in(s + j + 1, wl, scale_words) && !is_wordc(s[j + 1 + wl])) {
        /* $1.5 million -> one point five million dollars */
        put_number(o, s, &nb);
        text_buf_putc(o, ' ');
        for (size_t c = 0; c < wl; c++)
            text_buf_putc(o, (char)(s[j + 1 + c] | 0x20));
        text_buf_putc(o, ' ');
        text_buf_puts(o, nation);
        text_buf_puts(o, after_article(s, start) ? cur[k].one : cur[k].many);
        j += 1 + wl;
    } else {
        int one = nd == 1 && d[0] == '1';
        int zero = nd >= 1 && strspn(d, "0") == nd;
        size_t nfrac = nb.has_frac ? j - nb.frac_start : 0;
        if (nfrac == 2 && cur[k].sub_one) {
            long cents = small_value(s + nb.frac_start, 2);
            if (!zero || cents == 0) {
                text_num_cardinal(o, d, nd);
                text_buf_putc(o, ' ');
                text_buf_puts(o, nation);
                text_buf_puts(o, one ? cur[k].one : cur[k].many);
            }
            if (cents) {
                if (!zero)
                    text_buf_puts(o, " and ");
                put_value(o, cents);
                text_buf_putc(o, ' ');
                text_buf_puts(o, cents == 1 ? cur[k].sub_one : cur[k].sub_many);
            }
        } else {
            put_number(o, s, &nb);
            text_buf_putc(o, ' ');
            int adjective = !nb.has_frac && after_article(s, start); /* "a $300 fee" */
            text_buf_puts(o, nation);
            text_buf_puts(o, (one && !nb.has_frac) || adjective ? cur[k].one : cur[k].many);
            if (k == 1 && !nb.has_frac && !adjective)  /* £5 10s 6d */
                j += try_shillings(s, j, o);
        }
    }
    text_buf_free(&nb.digits);
    if (is_wordc(s[j]))
        text_buf_putc(o, ' ');
    return j - i;
}

static size_t try_currency(const char *s, size_t i, text_buf *o)
{
    return try_currency_of(s, i, i, "", o);
}

/* ---------------------------------------------------------------- Roman numerals */

/* Value of a canonical Roman numeral made of I V X L C (1..399), else 0:
 * the value is computed, written back in canonical form and compared. */
static long roman_value(const char *s, size_t n)
{
    static const struct { const char *r; int v; } t[] = {
        {"C", 100}, {"XC", 90}, {"L", 50}, {"XL", 40}, {"X", 10},
        {"IX", 9}, {"V", 5}, {"IV", 4}, {"I", 1}};
    if (n == 0 || n > 12)
        return 0;
    long v = 0;
    for (size_t k = 0; k < n; k++) {
        int cur = 0, next = 0;
        for (int q = 0; q < 9; q++) {
            if (t[q].r[1] == '\0' && t[q].r[0] == s[k])
                cur = t[q].v;
            if (k + 1 < n && t[q].r[1] == '\0' && t[q].r[0] == s[k + 1])
                next = t[q].v;
        }
        if (!cur)
            return 0;
        v += next > cur ? -cur : cur;
    }
    if (v < 1 || v > 399)
        return 0;
    char canon[16];
    size_t cn = 0;
    long rest = v;
    for (int q = 0; q < 9; q++) {
        while (rest >= t[q].v && cn + 2 < sizeof canon) {
            size_t rl = strlen(t[q].r);
            memcpy(canon + cn, t[q].r, rl);
            cn += rl;
            rest -= t[q].v;
        }
    }
    return cn == n && memcmp(canon, s, n) == 0 ? v : 0;
}

/* Roman numerals read as numbers after these words: "Chapter IV". */
static const char *const roman_cardinal_words[] = {
    "chapter", "book", "part", "volume", "act", "scene", "section", "article",
    "appendix", "phase", "stage", "type", "class", "level", "war", "bowl", "round",
    "series", "grade", "psalm", "canto", "lesson", "unit", "step", "tier",
    "version", "mark", "episode", "season", "figure", "table", "plate", "number",
    "division", "corps", "army", "title", "schedule", "annex", "vol", "chap",
    "no", "item", "rule", "clause", "canon", NULL};

/* Names after which a single-letter numeral (I, V, X) is a regnal number. */
static const char *const regnal_names[] = {
    "Henry", "Edward", "George", "William", "Charles", "James", "Louis",
    "Richard", "Elizabeth", "Mary", "John", "Pius", "Leo", "Gregory", "Benedict",
    "Paul", "Innocent", "Clement", "Alexander", "Frederick", "Philip", "Peter",
    "Ivan", "Nicholas", "Catherine", "Napoleon", "Ramesses", "Ptolemy",
    "Constantine", "Otto", "Alfonso", "Ferdinand", "Victor", "Emmanuel",
    "Umberto", "Gustav", "Gustavus", "Olaf", "Harald", "Christian", "Carl", "Rama",
    "Boniface", "Urban", "Sixtus", "Stephen", "Henri", "David", "Robert",
    "Anne", "Francis", "Joseph", "Leopold", "Wilhelm", "Karl", "Pedro", "Juan",
    "Felipe", "Carlos", "Ludwig", "Rudolf", "Haakon", "Magnus", "Eric", "Erik",
    "Amenhotep", "Thutmose", "Seti", "Darius", "Xerxes", "Antiochus", "Pope",
    "Nero", "Manuel", "Michael", "Basil", "Leon", "Ramses", "Mehmed", "Selim",
    "Murad", "Casimir", "Sigismund", "Wenceslaus", "Matthias", "Ladislaus",
    "Bela", "Andrew", "Baldwin", "Conrad", "Lothair", "Pepin", "Clovis",
    "Childeric", "Dagobert", "Hugh", "Alexios", "Justinian", "Theodosius",
    "Valentinian", "Leopold", "Maximilian", "Rainier", "Albert", "Baudouin",
    "Felix", "Sergius", "Julius", "Hadrian", "Adrian", NULL};

static const char *const roman_blocked[] = {"XL", "LI", "CI", "CV", "CC", "CL", NULL};

/* A Roman numeral at s[i] (uppercase word start) in a context that says it
 * is one: "Chapter IV" -> "Chapter four", "Henry VIII" -> "Henry the eighth",
 * "World War II" -> "World War two".  Never the pronoun "I" on its own. */
static size_t try_roman(const char *s, size_t i, text_buf *o)
{
    size_t n = 0;
    while (s[i + n] && strchr("IVXLC", s[i + n]))
        n++;
    if (n == 0 || is_wordc(s[i + n]))
        return 0;
    long v = roman_value(s + i, n);
    size_t ws, we;
    if (!v || !prev_word(s, i, &ws, &we))
        return 0;
    const char *pw = s + ws;
    size_t pn = we - ws;
    int pronoun_like = 0;
    if (n == 1 && s[i] == 'I') {
        /* "Chapter I." / "World War I began" but not "chapter I have" */
        size_t j = skip_spaces(s, i + 1);
        size_t wl = alpha_len(s + j);
        pronoun_like = word_is(pw, pn, "war") ? 0 : !is_upper(pw[0]) ||
                       (s[j] && !is_mark(s[j]) && !is_upper(s[j]) && !word_is(s + j, wl, "of") &&
                        !word_is(s + j, wl, "and"));
    }
    /* "number V C 836": one letter of a code, not a numeral */
    size_t nj = skip_spaces(s, i + n);
    int code_letter = n == 1 && nj > i + n && is_upper(s[nj]) && !is_wordc(s[nj + 1]);
    if (word_in(pw, pn, roman_cardinal_words) && (n > 1 || strchr("IVX", s[i])) &&
        !pronoun_like && !code_letter) {
        put_value(o, v);
        return n;
    }
    if (!is_upper(pw[0]) || pn < 2 || word_in(pw, pn, not_names) ||
        roman_value(pw, pn))
        return 0;
    if (n == 1) {
        /* a known ruler's name, or any name when the numeral has a period and
           a comma or semicolon after it: "Sargon I., who" */
        int marked = s[i + 1] == '.' && (s[i + 2] == ',' || s[i + 2] == ';');
        if (!strchr("IVX", s[i]) || (!word_in(pw, pn, regnal_names) && !marked))
            return 0;
        /* "Robert I. Bouck": a middle initial before a surname ("Henry V.
           He ..." and "James I., who" stay numerals) */
        if (s[i + 1] == '.' && s[i + 2] == ' ' && is_upper(s[i + 3]) &&
            !word_in(s + i + 3, alpha_len(s + i + 3), not_names))
            return 0;
        if (s[i] == 'I') {
            /* "Henry I." / "James I of England" / "George I and ..." only */
            size_t j = skip_spaces(s, i + 1);
            size_t wl = alpha_len(s + j);
            if (s[j] && !is_mark(s[j]) && !word_is(s + j, wl, "of") &&
                !word_is(s + j, wl, "and"))
                return 0;
        }
    } else {
        for (const char *const *b = roman_blocked; *b; b++)
            if (strlen(*b) == n && strncmp(s + i, *b, n) == 0)
                return 0;
    }
    text_buf_puts(o, "the ");
    put_ordinal_value(o, v);
    return n;
}

/* ---------------------------------------------------------------- abbreviations */

enum abbr_kind {
    AB_TITLE,   /* before a name: the period never ends a sentence */
    AB_SUFFIX,  /* after a word: the period may also end the sentence */
    AB_CONTEXT, /* Dr. / St.: title before a name, street after one */
    AB_NUMBERED, /* No. 5, Vol. 2: only before a number */
    AB_INFIX    /* vs.: between words, never a sentence end */
};

static const struct abbr {
    const char *abbr, *word, *street;
    enum abbr_kind kind;
    int any_case;     /* match "etc." and "Etc." */
    int needs_period; /* "Mr Smith" is common; "Co" alone is not an abbreviation */
} abbrs[] = {
    {"Dr", "Doctor", "Drive", AB_CONTEXT, 0, 0},
    {"St", "Saint", "Street", AB_CONTEXT, 0, 0},
    {"Mr", "Mister", NULL, AB_TITLE, 0, 0},
    {"Mrs", "Missus", NULL, AB_TITLE, 0, 0},
    {"Ms", "Miz", NULL, AB_TITLE, 0, 0},
    {"Messrs", "Messieurs", NULL, AB_TITLE, 0, 0},
    {"Prof", "Professor", NULL, AB_TITLE, 0, 1},
    {"Gen", "General", NULL, AB_TITLE, 0, 1},
    {"Capt", "Captain", NULL, AB_TITLE, 0, 1},
    {"Col", "Colonel", NULL, AB_TITLE, 0, 1},
    {"Lt", "Lieutenant", NULL, AB_TITLE, 0, 1},
    {"Sgt", "Sergeant", NULL, AB_TITLE, 0, 1},
    {"Cpl", "Corporal", NULL, AB_TITLE, 0, 1},
    {"Maj", "Major", NULL, AB_TITLE, 0, 1},
    {"Adm", "Admiral", NULL, AB_TITLE, 0, 1},
    {"Rev", "Reverend", NULL, AB_TITLE, 0, 1},
    {"Gov", "Governor", NULL, AB_TITLE, 0, 1},
    {"Sen", "Senator", NULL, AB_TITLE, 0, 1},
    {"Rep", "Representative", NULL, AB_TITLE, 0, 1},
    {"Hon", "Honorable", NULL, AB_TITLE, 0, 1},
    {"Pres", "President", NULL, AB_TITLE, 0, 1},
    {"Supt", "Superintendent", NULL, AB_TITLE, 0, 1},
    {"Mt", "Mount", NULL, AB_TITLE, 0, 1},
    {"Ft", "Fort", NULL, AB_TITLE, 0, 1},
    {"Jr", "Junior", NULL, AB_SUFFIX, 0, 0},
    {"Sr", "Senior", NULL, AB_SUFFIX, 0, 1},
    {"etc", "et cetera", NULL, AB_SUFFIX, 1, 0},
    {"vs", "versus", NULL, AB_INFIX, 1, 0},
    {"v", "versus", NULL, AB_INFIX, 0, 1},
    {"approx", "approximately", NULL, AB_INFIX, 1, 1},
    {"viz", "namely", NULL, AB_INFIX, 1, 1},
    {"Inc", "Incorporated", NULL, AB_SUFFIX, 0, 1},
    {"Ltd", "Limited", NULL, AB_SUFFIX, 0, 1},
    {"Corp", "Corporation", NULL, AB_SUFFIX, 0, 1},
    {"Co", "Company", NULL, AB_SUFFIX, 0, 1},
    {"Bros", "Brothers", NULL, AB_SUFFIX, 0, 1},
    {"Esq", "Esquire", NULL, AB_SUFFIX, 0, 1},
    {"Ave", "Avenue", NULL, AB_SUFFIX, 0, 1},
    {"Blvd", "Boulevard", NULL, AB_SUFFIX, 0, 1},
    {"Rd", "Road", NULL, AB_SUFFIX, 0, 1},
    {"Dept", "Department", NULL, AB_SUFFIX, 1, 1},
    {"Jan", "January", NULL, AB_SUFFIX, 0, 1},
    {"Feb", "February", NULL, AB_SUFFIX, 0, 1},
    {"Mar", "March", NULL, AB_SUFFIX, 0, 1},
    {"Apr", "April", NULL, AB_SUFFIX, 0, 1},
    {"Jun", "June", NULL, AB_SUFFIX, 0, 1},
    {"Jul", "July", NULL, AB_SUFFIX, 0, 1},
    {"Aug", "August", NULL, AB_SUFFIX, 0, 1},
    {"Sep", "September", NULL, AB_SUFFIX, 0, 1},
    {"Sept", "September", NULL, AB_SUFFIX, 0, 1},
    {"Oct", "October", NULL, AB_SUFFIX, 0, 1},
    {"Nov", "November", NULL, AB_SUFFIX, 0, 1},
    {"Dec", "December", NULL, AB_SUFFIX, 0, 1},
    {"No", "number", NULL, AB_NUMBERED, 0, 1},
    {"Nos", "numbers", NULL, AB_NUMBERED, 0, 1},
    {"Vol", "volume", NULL, AB_NUMBERED, 1, 1},
    {"Fig", "figure", NULL, AB_NUMBERED, 1, 1},
    {"Figs", "figures", NULL, AB_NUMBERED, 1, 1},
    {"Eq", "equation", NULL, AB_NUMBERED, 1, 1},
    {"Eqs", "equations", NULL, AB_NUMBERED, 1, 1},
    {"Sec", "section", NULL, AB_NUMBERED, 1, 1},
    {"Sect", "section", NULL, AB_NUMBERED, 1, 1},
    {"Art", "article", NULL, AB_NUMBERED, 0, 1},
    {"pp", "pages", NULL, AB_NUMBERED, 0, 1},
    {"p", "page", NULL, AB_NUMBERED, 0, 1},
    {"Ch", "chapter", NULL, AB_NUMBERED, 1, 1},
    {"Apt", "apartment", NULL, AB_NUMBERED, 1, 1},
};

/* Abbreviation word at s[i] (a letter at a word start). */
static size_t try_abbreviation(const char *s, size_t i, text_buf *o)
{
    size_t n = alpha_len(s + i);
    if (is_wordc(s[i + n]) || s[i + n] == '\'' || s[i + n] == '-')
        return 0;
    int period = s[i + n] == '.' && !is_alnum(s[i + n + 1]);
    size_t after = i + n + (period ? 1 : 0);
    int poss = period && s[after] == '\'' && s[after + 1] == 's' && !is_wordc(s[after + 2]);
    for (size_t k = 0; k < sizeof abbrs / sizeof abbrs[0]; k++) {
        const struct abbr *a = &abbrs[k];
        if (strlen(a->abbr) != n || !(a->any_case ? strncasecmp(s + i, a->abbr, n) == 0
                                                  : strncmp(s + i, a->abbr, n) == 0))
            continue;
        if (a->needs_period && !period)
            return 0;
        if (poss) { /* "Co.'s" -> "Company's" */
            text_buf_puts(o, a->word);
            text_buf_puts(o, "'s");
            return after + 2 - i;
        }
        size_t nx = skip_spaces(s, after);
        int next_cap = next_word_capitalized(s, after);
        switch (a->kind) {
        case AB_NUMBERED:
            if (!is_digit(s[nx]) && strcmp(a->abbr, "Sec") == 0 && period &&
                word_is(s + nx, alpha_len(s + nx), "of")) {
                text_buf_puts(o, "Secretary"); /* "Sec. of State" */
                return after - i;
            }
            if (!is_digit(s[nx])) {
                /* "Vol. II", "Ch. IV": the numeral is a number here (but not
                   "No. I", which is more likely "No. I ...") */
                size_t rn = 0;
                while (s[nx + rn] && strchr("IVXLC", s[nx + rn]))
                    rn++;
                long rv = rn && !is_wordc(s[nx + rn]) ? roman_value(s + nx, rn) : 0;
                if (!rv || !period ||
                    (rn == 1 && s[nx] == 'I' && strncmp(a->abbr, "No", 2) == 0))
                    return 0;
                text_buf_puts(o, a->word);
                text_buf_putc(o, ' ');
                put_value(o, rv);
                return nx + rn - i;
            }
            text_buf_puts(o, a->word);
            return after - i;
        case AB_TITLE:
            if (!period && !next_cap)
                return 0;
            text_buf_puts(o, a->word);
            if (period && !next_cap)
                put_period_if_end(o, s, after);
            return after - i;
        case AB_INFIX:
            if (strcmp(a->abbr, "v") == 0) {
                /* a case name, "Rex v. Smith"; not "v." in a list or a reference */
                size_t ws, we;
                if (!next_cap || !prev_word(s, i, &ws, &we) || !is_upper(s[ws]))
                    return 0;
            }
            text_buf_puts(o, a->word);
            if (period && !s[nx])
                text_buf_putc(o, '.');
            return after - i;
        case AB_SUFFIX:
            if (!period && strcmp(a->abbr, "etc"))
                return 0;
            text_buf_puts(o, a->word);
            if (period)
                put_period_if_end(o, s, after);
            return after - i;
        case AB_CONTEXT: {
            size_t ws, we;
            int street = 0;
            /* after a name, a street, unless a name follows ("John St. Clair");
               a word that starts sentences ("The", "He") is no name, so "St.
               James St. The house" ends a sentence on Street */
            int next_starter = next_cap && period && word_in(s + nx, alpha_len(s + nx), not_names);
            if ((!next_cap || next_starter) && prev_word(s, i, &ws, &we) && is_upper(s[ws]) &&
                !word_in(s + ws, we - ws, not_names))
                street = 1;
            else if (!next_cap && i >= 3 && s[i - 1] == ' ' &&
                     (is_digit(s[i - 2]) || word_is(s + i - 3, 2, "th") ||
                      word_is(s + i - 3, 2, "st") || word_is(s + i - 3, 2, "nd") ||
                      word_is(s + i - 3, 2, "rd")))
                street = 1; /* "5th St." */
            if (!period && !next_cap && !street)
                return 0;
            text_buf_puts(o, street ? a->street : a->word);
            if (period && (street || !next_cap))
                put_period_if_end(o, s, after);
            return after - i;
        }
        }
    }
    return 0;
}

/* Dotted letters at s[i]: e.g. i.e. a.m. p.m. U.S.A. and initials "J. Smith". */
static size_t try_dotted(const char *s, size_t i, text_buf *o)
{
    char letters[16];
    size_t n = 0, j = i;
    while (is_alpha(s[j]) && s[j + 1] == '.' && is_alpha(s[j + 2]) &&
           (s[j + 3] == '.' || !is_wordc(s[j + 3]))) {
        if (n >= sizeof letters - 2) /* room for the last letter and the NUL */
            return 0;
        letters[n++] = s[j];
        j += 2;
    }
    if (n == 0) {
        /* spaced "i. e." and "e. g." (in lowercase: "E. G. Wakefield" is
           initials) */
        if ((strncmp(s + i, "i. e.", 5) == 0 || strncmp(s + i, "e. g.", 5) == 0) &&
            !is_wordc(s[i + 5])) {
            text_buf_puts(o, s[i] == 'i' ? "that is" : "for example");
            return 5;
        }
        /* an initial: "J. Smith" -> "J Smith"; and a capital's period before
           a word in lowercase ends no sentence: "an I. O. U. for it", "S. T.
           W. two inch" */
        if (!is_upper(s[i]) || s[i + 1] != '.' || s[i + 2] != ' ')
            return 0;
        size_t nx = skip_spaces(s, i + 2);
        if ((is_upper(s[nx]) && !word_in(s + nx, alpha_len(s + nx), not_names)) ||
            is_lower(s[nx])) {
            text_buf_putc(o, s[i]);
            return 2;
        }
        return 0;
    }
    /* the last letter, with or without its final period */
    letters[n++] = s[j];
    j++;
    int period = s[j] == '.';
    if (period)
        j++;
    if (s[j] == '\'' && s[j + 1] == 's' && !is_wordc(s[j + 2])) {
        for (size_t k = 0; k < n; k++)
            text_buf_putc(o, (char)(is_lower(letters[k]) ? letters[k] - 32 : letters[k]));
        text_buf_puts(o, "'s");
        return j + 2 - i;
    }
    if (is_wordc(s[j]))
        return 0;
    letters[n] = '\0';
    if (strcasecmp(letters, "eg") == 0) {
        text_buf_puts(o, "for example");
    } else if (strcasecmp(letters, "aka") == 0) {
        text_buf_puts(o, "also known as");
    } else if (strcasecmp(letters, "ie") == 0) {
        text_buf_puts(o, "that is");
    } else {
        for (size_t k = 0; k < n; k++)
            text_buf_putc(o, (char)(is_lower(letters[k]) ? letters[k] - 32 : letters[k]));
        if (period && period_ends_sentence_strict(s, j))
            text_buf_putc(o, '.');
    }
    return j - i;
}

/* "May 5th" / "May 5" at s[i] (a month name): "May fifth". */
static size_t try_month_day(const char *s, size_t i, text_buf *o)
{
    static const char *const short_months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    size_t n = alpha_len(s + i);
    int m = month_of(s + i, n);
    size_t skip = 0;
    if (!m) { /* "Jan. 3", and "Jan 3" (a short month before a day is no name) */
        for (int k = 0; k < 12 && !m; k++)
            if (strlen(short_months[k]) == n && strncmp(s + i, short_months[k], n) == 0)
                m = k + 1;
        if (!m && n == 4 && strncmp(s + i, "Sept", 4) == 0)
            m = 9;
        skip = s[i + n] == '.';
    }
    if (!m || s[i + n + skip] != ' ' || !is_digit(s[i + n + skip + 1]))
        return 0;
    size_t j = i + n + skip + 1;
    size_t dl = digit_len(s + j);
    long day = small_value(s + j, dl);
    if (dl > 2 || day < 1 || day > 31)
        return 0;
    size_t e = j + dl;
    if (is_alpha(s[e]) && is_alpha(s[e + 1]) &&
        (word_is(s + e, 2, "st") || word_is(s + e, 2, "nd") || word_is(s + e, 2, "rd") ||
         word_is(s + e, 2, "th")))
        e += 2;
    if (is_wordc(s[e]) || s[e] == ':' || s[e] == '/' || (s[e] == '.' && is_digit(s[e + 1])) ||
        (s[e] == ',' && is_digit(s[e + 1])))
        return 0;
    text_buf_put(o, month_names[m - 1], strlen(month_names[m - 1]));
    text_buf_putc(o, ' ');
    put_ordinal_value(o, day);
    return e - i;
}

/* A number written in words starts at s[j]: "four", "sixty-four". */
static int number_word_at(const char *s, size_t j)
{
    static const char *const words[] = {
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
        "eighty", "ninety", NULL};
    size_t wl = alpha_len(s + j);
    return wl && (!is_wordc(s[j + wl]) || s[j + wl] == '-') && word_in(s + j, wl, words) &&
           is_lower(s[j]);
}

/* Whole words with a fixed reading, and URL schemes, at s[i] (a word
 * start): "WWII", "x" between numbers ("2 x 3" is said "two by three", the
 * reading of dimensions, the common use in prose), "https://" (left out:
 * listeners want the address, not its scheme). */
static size_t try_special_word(const char *s, size_t i, text_buf *o)
{
    static const struct { const char *word, *say; } fixed[] = {
        {"WWI", "World War one"}, {"WWII", "World War two"}};
    size_t n = alpha_len(s + i);
    if (is_wordc(s[i + n]) && s[i + n] != '$')
        return 0;
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (strlen(fixed[k].word) == n && strncmp(s + i, fixed[k].word, n) == 0) {
            text_buf_puts(o, fixed[k].say);
            return n;
        }
    if (n == 1 && s[i] == 'x' && i >= 2 && s[i - 1] == ' ' && is_digit(s[i - 2]) &&
        s[i + 1] == ' ' && is_digit(s[i + 2])) {
        text_buf_puts(o, "by");
        return 1;
    }
    static const struct { const char *prefix, *nation; } dollars[] = {
        {"US", "US "}, {"A", "Australian "}, {"C", "Canadian "}, {"NZ", "New Zealand "},
        {"HK", "Hong Kong "}};
    for (size_t k = 0; k < sizeof dollars / sizeof dollars[0]; k++)
        if (s[i + n] == '$' && is_digit(s[i + n + 1]) && strlen(dollars[k].prefix) == n &&
            strncmp(s + i, dollars[k].prefix, n) == 0) { /* "US$5": five US dollars */
            size_t l = try_currency_of(s, i + n, i, dollars[k].nation, o);
            return l ? n + l : 0;
        }
    if ((word_is(s + i, n, "c") || word_is(s + i, n, "ca")) && is_lower(s[i]) &&
        s[i + n] == '.') {
        /* "c. 1850", "ca. 500 BC": circa before a year (three or four digits);
           before a short number ("c. 46", a statute's chapter) it is left */
        size_t j = skip_spaces(s, i + n + 1);
        size_t dl = digit_len(s + j);
        if (dl >= 3 && dl <= 4 && (!is_wordc(s[j + dl]) || s[j + dl] == 's') &&
            !((s[j + dl] == ',' || s[j + dl] == '.') && is_digit(s[j + dl + 1]))) {
            text_buf_puts(o, "circa ");
            return j - i;
        }
    }
    if ((word_is(s + i, n, "c") || word_is(s + i, n, "cap") || word_is(s + i, n, "s")) &&
        is_lower(s[i]) && s[i + n] == '.' && s[i + n + 1] == ' ') {
        /* a statute's chapter and section, "4 Geo. IV c. 64, s. 5", "the
           ninth George the fourth cap. thirty-one": before a short number,
           in digits or in words */
        size_t j = skip_spaces(s, i + n + 1);
        size_t dl = digit_len(s + j);
        if ((dl >= 1 && dl <= 2 && !is_wordc(s[j + dl]) &&
             !((s[j + dl] == ',' || s[j + dl] == '.') && is_digit(s[j + dl + 1]))) ||
            number_word_at(s, j)) {
            text_buf_puts(o, s[i] == 's' ? "section " : "chapter ");
            return j - i;
        }
    }
    if (n == 2 && strncmp(s + i, "Ph.D", 4) == 0 && !is_wordc(s[i + 4]) ) {
        /* "Ph.D." is said as its letters; its period ends the sentence only
           when a sentence plainly starts after it */
        text_buf_puts(o, "PhD");
        size_t l = 4;
        if (s[i + 4] == '.') {
            l = 5;
            if (period_ends_sentence_strict(s, i + 5))
                text_buf_putc(o, '.');
        }
        return l;
    }
    if ((word_is(s + i, n, "http") || word_is(s + i, n, "https") || word_is(s + i, n, "ftp")) &&
        strncmp(s + i + n, "://", 3) == 0 && is_wordc(s[i + n + 3]))
        return n + 3;
    return 0;
}

static const struct { const char *abbr, *day; } weekdays[] = {
    {"Mon", "Monday"}, {"Tue", "Tuesday"}, {"Tues", "Tuesday"}, {"Wed", "Wednesday"},
    {"Thu", "Thursday"}, {"Thur", "Thursday"}, {"Thurs", "Thursday"},
    {"Fri", "Friday"}, {"Sat", "Saturday"}, {"Sun", "Sunday"}};

/* The weekday abbreviated at s[i] ("Mon", "Tues"; its period not included),
 * as an index into weekdays[], or -1. */
static int weekday_at(const char *s, size_t i)
{
    size_t n = alpha_len(s + i);
    if (i > 0 && is_wordc(s[i - 1]))
        return -1;
    for (size_t k = 0; k < sizeof weekdays / sizeof weekdays[0]; k++)
        if (strlen(weekdays[k].abbr) == n && strncmp(s + i, weekdays[k].abbr, n) == 0)
            return (int)k;
    return -1;
}

/* An abbreviated weekday with its period and no date after it ("open
 * until Fri.", "on Mon. we met"): "Mon.", "Tue.", "Wed.", "Thu.", "Fri." are
 * always days with their period; "Sat." and "Sun." only after a word that
 * takes a day ("on Sat.", "every Sun."), or they are the words. */
static size_t weekday_alone(const char *s, size_t i, int k, text_buf *o)
{
    static const char *const day_words[] = {"on", "every", "until", "till", "next", "last",
                                            "this", "from", "by", "each", NULL};
    size_t n = strlen(weekdays[k].abbr), ws, we;
    if (s[i] == 'S' && !(prev_word(s, i, &ws, &we) && word_in(s + ws, we - ws, day_words)))
        return 0;
    text_buf_puts(o, weekdays[k].day);
    put_period_if_end(o, s, i + n + 1);
    return n + 1;
}

/* Abbreviated weekdays at s[i]: before a date ("Sun., Dec. 25", "Fri. 3 May")
 * and in ranges ("Mon.-Fri.", "Mon to Fri", "Mon - Fri"): the days' names.
 * Elsewhere "Sun." and "Sat." are more likely the words. */
static size_t try_weekday(const char *s, size_t i, text_buf *o)
{
    int k = weekday_at(s, i);
    if (k < 0)
        return 0;
    size_t n = strlen(weekdays[k].abbr), j = i + n;
    int period = s[j] == '.';
    if (is_wordc(s[j]) || s[j] == '\'')
        return 0;
    /* a range of days */
    size_t r = j + period;
    if (s[r] == '-')
        r++;
    else if (s[r] == ' ' && s[r + 1] == '-' && s[r + 2] == ' ')
        r += 3;
    else if (s[r] == ' ' && s[r + 1] == 't' && s[r + 2] == 'o' && s[r + 3] == ' ')
        r += 4;
    int k2 = r > j + period ? weekday_at(s, r) : -1;
    if (k2 >= 0) {
        size_t e = r + strlen(weekdays[k2].abbr);
        if (!is_wordc(s[e]) && s[e] != '\'') {
            text_buf_puts(o, weekdays[k].day);
            text_buf_puts(o, " to ");
            text_buf_puts(o, weekdays[k2].day);
            if (s[e] == '.' && !is_alnum(s[e + 1])) {
                e++;
                put_period_if_end(o, s, e);
            }
            return e - i;
        }
    }
    /* before a date, with its period */
    if (!period)
        return 0;
    if (s[j + 1] != ',' && s[j + 1] != ' ')
        return weekday_alone(s, i, k, o);
    j++;
    j += s[j] == ',';
    if (s[j] != ' ')
        return 0;
    j++;
    size_t wl = alpha_len(s + j);
    int month = month_of(s + j, wl);
    static const char *const short_months[] = {
        "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", NULL};
    for (const char *const *m = short_months; !month && *m; m++)
        month = strlen(*m) == wl && strncmp(s + j, *m, wl) == 0;
    if (month || is_digit(s[j])) {
        text_buf_puts(o, weekdays[k].day);
        return n + 1;
    }
    return weekday_alone(s, i, k, o);
}

/* ---------------------------------------------------------------- pass 2 */

/* The word before s[i] (only spaces between) is w, in any case. */
static int word_before_is(const char *s, size_t i, const char *w)
{
    size_t ws, we;
    return prev_word(s, i, &ws, &we) && word_is(s + ws, we - ws, w);
}

/* A number (digits, or a currency sign and digits) starts at s[i]. */
static int number_starts(const char *s, size_t i)
{
    const unsigned char *u = (const unsigned char *)s + i;
    return is_digit(s[i]) || (u[0] == '$' && is_digit(s[i + 1])) ||
           (u[0] == 0xC2 && (u[1] == 0xA3 || u[1] == 0xA5) && is_digit(s[i + 2])) ||
           (u[0] == 0xE2 && u[1] == 0x82 && u[2] == 0xAC && is_digit(s[i + 3]));
}

/* s[i] is a colon between an hour and minutes in words: "six:thirty",
 * "twelve:forty-five", "one:oh five". */
static int time_in_words(const char *s, size_t i)
{
    static const char *const hours[] = {
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", NULL};
    static const char *const minutes[] = {
        "oh", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
        "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", NULL};
    size_t hs = i;
    while (hs > 0 && is_alpha(s[hs - 1]))
        hs--;
    if (hs == i || (hs > 0 && is_wordc(s[hs - 1])) || !word_in(s + hs, i - hs, hours))
        return 0;
    size_t ml = alpha_len(s + i + 1);
    return ml && word_in(s + i + 1, ml, minutes) &&
           (!is_wordc(s[i + 1 + ml]) || s[i + 1 + ml] == '-') && s[i + 1 + ml] != ':';
}

/* Two-letter words, so that after a model number only a suffix such as
 * "Ti" is spelled ("the 747 Is" stays a word). */
static const char *const two_letter_words[] = {
    "In", "On", "At", "To", "Is", "It", "Of", "Or", "An", "As", "Be", "By", "Do", "Go",
    "He", "If", "Me", "My", "No", "So", "Up", "Us", "We", "Am", "Ok", "Oh", "Hi", "Ah",
    "Ed", "Al", "Jo", "Bo", "Mo", NULL};

static void expand_text(const char *s, text_buf *o)
{
    size_t i = 0;
    size_t num_start = 0, num_end = (size_t)-1; /* the last number read */
    while (s[i] && !o->failed) {
        char c = s[i];
        int start = i == 0 || !is_wordc(s[i - 1]);
        size_t used = 0;
        if (is_digit(c)) {
            if (i > 0 && is_alpha(s[i - 1]))
                text_buf_putc(o, ' '); /* "MP3" -> "MP three" */
            if (i > 0 && (s[i - 1] == '.' || s[i - 1] == ',') && i > 1 && is_digit(s[i - 2]))
                text_buf_putc(o, ' ');
            used = try_number(s, i, o);
            num_start = i;
            num_end = i + used;
        } else if (start && is_alpha(c)) {
            if (is_upper(c) && is_lower(s[i + 1]) && !is_wordc(s[i + 2]) && s[i + 2] != '.' &&
                s[i + 2] != '\'' && i >= 2 && s[i - 1] == ' ' && num_end == i - 1 &&
                is_digit(s[i - 2]) && model_before(s, num_start) &&
                !word_in(s + i, 2, two_letter_words)) {
                /* a model's suffix, "the 1080 Ti": said as letters */
                text_buf_putc(o, c);
                text_buf_putc(o, ' ');
                text_buf_putc(o, (char)(s[i + 1] - 32));
                used = 2;
            }
            if (!used)
                used = try_special_word(s, i, o);
            if (!used && is_upper(c))
                used = try_roman(s, i, o);
            if (!used)
                used = try_weekday(s, i, o);
            if (!used)
                used = try_dotted(s, i, o);
            if (!used)
                used = try_month_day(s, i, o);
            if (!used)
                used = try_abbreviation(s, i, o);
            if (!used) {
                used = alpha_len(s + i); /* copy the plain word */
                text_buf_put(o, s + i, used);
            }
        } else if (start && ((unsigned char)c == 0xC2 || (unsigned char)c == 0xE2 || c == '$')) {
            used = try_currency(s, i, o);
            if (used) {
                num_start = i;
                num_end = i + used;
            }
        }
        if (used) {
            i += used;
            continue;
        }
        switch (c) {
        case '&':
            if (s[i + 1] == 'c' && s[i + 2] == '.') { /* "&c." the old "etc." */
                text_buf_puts(o, " et cetera");
                i += 2;
                put_period_if_end(o, s, i + 1);
            } else {
                text_buf_puts(o, " and ");
            }
            break;
        case '+': text_buf_puts(o, " plus "); break;
        case ':':
            /* 3:2 is a score or a ratio: "three to two"; "twelve:thirty" (a
               time written in words, as the LJ Speech texts do) is "twelve
               thirty", where espeak-ng would say "colon" */
            if (i > 0 && is_digit(s[i - 1]) && is_digit(s[i + 1]))
                text_buf_puts(o, " to ");
            else if (time_in_words(s, i))
                text_buf_putc(o, ' ');
            else
                text_buf_putc(o, ':');
            break;
        case '@': text_buf_puts(o, " at "); break;
        case '*': {
            /* between numbers: "2 * 3", "2*3" */
            size_t b = i, a = skip_spaces(s, i + 1);
            while (b > 0 && s[b - 1] == ' ')
                b--;
            if (b > 0 && is_digit(s[b - 1]) && number_starts(s, a))
                text_buf_puts(o, " times ");
            else
                text_buf_putc(o, '*');
            break;
        }
        case '%': text_buf_puts(o, " percent "); break;
        case '=': text_buf_puts(o, " equals "); break;
        case '#':
            if (i >= 1 && strchr("ABCDEFGJ", s[i - 1]) && (i == 1 || !is_wordc(s[i - 2])) &&
                !is_wordc(s[i + 1]))
                text_buf_puts(o, " sharp "); /* C#, F# (a key or a language), J# */
            else
                text_buf_puts(o, is_digit(s[i + 1]) ? " number " : " ");
            break;
        case '/': text_buf_puts(o, " slash "); break;
        case '-':
            if (i >= 2 && num_end == i - 1 && s[i - 1] == ' ' && s[i + 1] == ' ' && number_starts(s, i + 2)) {
                /* spaced between numbers: arithmetic when an "=" follows or
                   the text begins with it ("10 - 3 = 7", "10 - 3"), else a
                   range or a score ("pages 10 - 20", "won 3 - 2") */
                size_t j = i + 2;
                while (is_digit(s[j]) || (s[j] == '.' && is_digit(s[j + 1])) || (unsigned char)s[j] >= 0x80 || s[j] == '$')
                    j++;
                size_t b = num_start;
                while (b > 0 && s[b - 1] == ' ')
                    b--;
                if (s[skip_spaces(s, j)] == '=' || b == 0)
                    text_buf_puts(o, "minus");
                else
                    text_buf_puts(o, word_before_is(s, num_start, "between") ? "and" : "to");
            } else if (i == num_end && number_starts(s, i + 1))
                /* a range or a score: 10-20, 1914-18, 3-2; "between 5-10" is
                   said "between five and ten" */
                text_buf_puts(o, word_before_is(s, num_start, "between") ? " and " : " to ");
            else if (number_starts(s, i + 1) && (i == 0 || s[i - 1] == ' '))
                text_buf_puts(o, "minus "); /* -5, -$5 */
            else if (i > 0 && is_wordc(s[i - 1]) && is_wordc(s[i + 1]))
                text_buf_putc(o, '-');
            else if (i > 0 && is_wordc(s[i - 1]) && s[i + 1] == ' ' && is_alpha(s[i + 2]) &&
                     !word_is(s + i + 2, alpha_len(s + i + 2), "and") &&
                     !word_is(s + i + 2, alpha_len(s + i + 2), "or") &&
                     !word_is(s + i + 2, alpha_len(s + i + 2), "to")) {
                text_buf_putc(o, '-'); /* "forward- looking": a broken line */
                i++;
            }
            else if ((i == 0 || s[i - 1] == ' ' || s[i + 1] == '-') &&
                     (s[i + 1] == ' ' || s[i + 1] == '-' || !s[i + 1]))
                text_buf_puts(o, ", "); /* a dash between words */
            else
                text_buf_putc(o, ' ');
            while (s[i + 1] == '-')
                i++;
            break;
        case '.':
            if (is_digit(s[i + 1])) { /* .5, and 1.2.3 read as "point" too */
                text_buf_puts(o, " point ");
                size_t dl = digit_len(s + i + 1);
                text_num_digits(o, s + i + 1, dl);
                i += dl;
            } else if ((i == 0 || s[i - 1] == ' ') && is_alpha(s[i + 1]) &&
                       !is_wordc(s[i + 1 + alpha_len(s + i + 1)])) {
                /* a period starting a word is a dot: ".NET", ".com", ".txt"
                   (lowercase, so "NET" is said as the word) */
                size_t wl = alpha_len(s + i + 1);
                text_buf_puts(o, "dot ");
                for (size_t c2 = 0; c2 < wl; c2++)
                    text_buf_putc(o, (char)(is_upper(s[i + 1 + c2]) ? s[i + 1 + c2] + 32
                                                                   : s[i + 1 + c2]));
                i += wl;
            } else {
                text_buf_putc(o, '.');
            }
            break;
        default:
            if ((unsigned char)c == 0xC2 && (unsigned char)s[i + 1] == 0xB0) { /* ° */
                text_buf_puts(o, " degrees");
                i++;
                if ((s[i + 1] == 'C' || s[i + 1] == 'F') && !is_wordc(s[i + 2])) {
                    text_buf_puts(o, s[i + 1] == 'C' ? " Celsius" : " Fahrenheit");
                    i++;
                }
                text_buf_putc(o, ' ');
            } else if ((unsigned char)c == 0xC2 && (unsigned char)s[i + 1] == 0xB1) { /* ± */
                text_buf_puts(o, " plus or minus ");
                i++;
            } else if ((unsigned char)c == 0xC3 && (unsigned char)s[i + 1] == 0x97) { /* × */
                text_buf_puts(o, " times ");
                i++;
            } else if ((unsigned char)c == 0xC2 && (unsigned char)s[i + 1] == 0xA7) { /* § */
                text_buf_puts(o, " section ");
                i++;
            } else {
                text_buf_putc(o, c);
            }
        }
        i++;
    }
}

/* ---------------------------------------------------------------- pass 3 */

static size_t mark_len(const char *s)
{
    if (is_mark(s[0]))
        return 1;
    if ((unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
        (unsigned char)s[2] == 0xA6)
        return 3;
    return 0;
}

/* One space between words, one mark per punctuation run, no space before a
 * mark, no mark at the start. */
static void tidy_text(const char *s, text_buf *o)
{
    int pending_space = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == ' ') {
            pending_space = 1;
            i++;
            continue;
        }
        size_t ml = mark_len(s + i);
        if (ml) {
            /* scan the run of marks and spaces */
            size_t j = i, best = i, best_len = ml;
            int rank_best = -1, spaced = pending_space;
            for (;;) {
                if (s[j] == ' ') {
                    spaced = 1;
                    j++;
                    continue;
                }
                size_t l = mark_len(s + j);
                if (!l)
                    break;
                if (s[j] == '.' && (s[j + 1] == ',' || s[j + 1] == ';' || s[j + 1] == ':')) {
                    j++; /* "Bart.," : an abbreviation's period before a comma */
                    continue;
                }
                int rank = s[j] == '?' ? 5 : s[j] == '!' ? 4 : l == 3 ? 3
                         : s[j] == '.' ? 2 : s[j] == ',' ? 0 : 1;
                if (rank > rank_best) {
                    rank_best = rank;
                    best = j;
                    best_len = l;
                }
                j += l;
            }
            if (spaced || !s[j] || j > i + ml) {
                if (o->len > 0)
                    text_buf_put(o, s + best, best_len);
                pending_space = 1;
                i = j;
                continue;
            }
            /* a mark inside a token ("example.com") */
            if (pending_space && o->len)
                text_buf_putc(o, ' ');
            pending_space = 0;
            text_buf_put(o, s + i, ml);
            i += ml;
            continue;
        }
        if (pending_space && o->len)
            text_buf_putc(o, ' ');
        pending_space = 0;
        text_buf_putc(o, s[i]);
        i++;
    }
}

/* ---------------------------------------------------------------- API */

int text_lang_is_english(const char *lang)
{
    return !lang || !*lang || (strncasecmp(lang, "en", 2) == 0 && (lang[2] == 0 || lang[2] == '-' || lang[2] == '_'));
}

tts_status text_normalize_n(const char *utf8, size_t n_bytes, char **out)
{
    return text_normalize_lang(NULL, utf8, n_bytes, out);
}

tts_status text_normalize_lang(const char *lang, const char *utf8, size_t n_bytes, char **out)
{
    if (!out)
        return TTS_ERR_INVALID_ARG;
    *out = NULL;
    if (!utf8 && n_bytes)
        return TTS_ERR_INVALID_ARG;
    text_buf a = {0}, b = {0}, c = {0};
    tts_status st = clean_text(utf8 ? utf8 : "", n_bytes, &a);
    if (st == TTS_OK && text_lang_is_english(lang)) {
        expand_text(a.data ? a.data : "", &b);
        if (b.failed)
            st = TTS_ERR_NOMEM;
    } else if (st == TTS_OK) {
        /* other languages: espeak-ng reads their numbers, dates and
           abbreviations; the English rules would misread them */
        text_buf_put(&b, a.data ? a.data : "", a.len);
        if (b.failed)
            st = TTS_ERR_NOMEM;
    }
    if (st == TTS_OK) {
        tidy_text(b.data ? b.data : "", &c);
        if (!text_is_speakable(c.data ? c.data : "", c.len))
            c.len = 0;
        if (c.data)
            c.data[c.len] = '\0';
        st = text_buf_take(&c, out);
    }
    text_buf_free(&a);
    text_buf_free(&b);
    text_buf_free(&c);
    return st;
}

tts_status text_normalize(const char *utf8, char **out)
{
    if (!utf8)
        return out ? (*out = NULL, TTS_ERR_INVALID_ARG) : TTS_ERR_INVALID_ARG;
    return text_normalize_n(utf8, strlen(utf8), out);
}

#!/usr/bin/python3
"""eval.py - the table of scripts/eval.sh: word error rate, mel cepstral
distortion with dynamic time warping against the teacher, duration ratio,
attention failures.  Uses numpy only (Debian's python3-numpy)."""
import os
import re
import sys
import wave

import numpy as np


def words(s):
    return re.sub(r"[^a-z' ]+", " ", s.lower()).split()


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def alignment_runs(ref, hyp):
    """The longest runs of reference words the hypothesis drops and of words
    it adds, in one minimum edit alignment (a skipped sentence is a long run
    of drops, a sentence said twice a long run of additions)."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        sub = d[i - 1, :-1] + np.array([ref[i - 1] != h for h in hyp], dtype=np.int32)
        row = np.minimum(sub, d[i - 1, 1:] + 1)
        for j in range(1, m + 1):  # insertions run along the row
            row[j - 1] = min(row[j - 1], (row[j - 2] if j > 1 else i) + 1)
        d[i, 1:] = row
    i, j, run_del, run_ins, best_del, best_ins = n, m, 0, 0, 0, 0
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            i, j, run_del, run_ins = i - 1, j - 1, 0, 0
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            i, run_del, run_ins = i - 1, run_del + 1, 0
        else:
            j, run_ins, run_del = j - 1, run_ins + 1, 0
        best_del, best_ins = max(best_del, run_del), max(best_ins, run_ins)
    return d[n, m], best_del, best_ins


SKIP_RUN = 8  # dropped or added words in a row that mean a sentence skipped or said twice


def chapter(work, wer):
    """One line on the chapter: its sentences' pace against the voice's median
    (a sentence far shorter than its text needs was cut short or skipped, far
    longer: said twice or babbled), the synthesizer's own alignment failures,
    and for English the recognizer's longest runs of dropped and added words."""
    d = os.path.join(work, "chapter")
    log = os.path.join(d, "chapter.log")
    if not os.path.exists(os.path.join(d, "chapter.wav")):
        return "chapter: not synthesized" + (" (see chapter/chapter.log)" if os.path.exists(log) else "")
    pace, retries, caps = [], 0, 0
    for line in open(log, encoding="utf-8", errors="replace"):
        m = re.match(r".*?: \[(\d+)\] ([\d.]+) s, stop:([^:]*): (.*)$", line)
        if m:
            letters = len(re.sub(r"\W", "", m.group(4)))
            caps += "frame-cap" in m.group(3)
            if letters >= 20:
                pace.append(float(m.group(2)) / letters)
        elif "synthesized in pieces" in line:
            retries += 1
    text = open(os.path.join(d, "chapter.txt"), encoding="utf-8").read()
    n_words, n_lines = len(text.split()), len(text.splitlines())
    x, sr = read_wav(os.path.join(d, "chapter.wav"))
    med = float(np.median(pace)) if pace else 0
    short = sum(p < 0.45 * med for p in pace)
    long_ = sum(p > 2.2 * med for p in pace)
    out = (f"chapter: {n_words} words, {n_lines} sentences, {len(x) / sr / 60:.1f} min: "
           f"{retries} alignment retries, {caps} frame caps; pace against the median: "
           f"{short} sentences under 0.45 times, {long_} over 2.2 times")
    hyp_path = os.path.join(d, "chapter.hyp")
    ok = retries == 0 and caps == 0 and short == 0 and long_ == 0
    if wer and os.path.exists(hyp_path):
        ref = words(open(os.path.join(d, "chapter.norm")).read())
        hyp = words(open(hyp_path).read())
        e, rd, ri = alignment_runs(ref, hyp)
        out += (f"; recognizer WER {100.0 * e / max(len(ref), 1):.1f}%, longest runs: "
                f"{rd} words dropped, {ri} added (a skipped or repeated sentence: {SKIP_RUN} or more)")
        ok = ok and rd < SKIP_RUN and ri < SKIP_RUN
    return out + (" -> no sentence skipped or repeated" if ok else " -> CHECK: a sentence may be skipped or repeated")


def read_wav(path):
    with wave.open(path) as w:
        sr, n = w.getframerate(), w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float64) / 32768
        if w.getnchannels() > 1:
            x = x[:: w.getnchannels()]
    return x, sr


def resample(x, sr, to):
    if sr == to:
        return x
    t = np.arange(int(len(x) * to / sr)) * sr / to
    return np.interp(t, np.arange(len(x)), x)


_basis = {}


def mel_cepstrum(x, sr=22050, n_fft=1024, hop=256, n_mels=80, n_cep=24):
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    win = np.hanning(n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * win
    mag = np.abs(np.fft.rfft(frames, axis=1))
    if n_mels not in _basis:
        f = np.linspace(0, sr / 2, n_fft // 2 + 1)
        mel = lambda h: 2595 * np.log10(1 + h / 700)
        pts = 700 * (10 ** (np.linspace(mel(0), mel(8000), n_mels + 2) / 2595) - 1)
        b = np.zeros((n_mels, len(f)))
        for i in range(n_mels):
            lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
            b[i] = np.clip(np.minimum((f - lo) / (c - lo), (hi - f) / (hi - c)), 0, None)
        k = np.arange(n_mels)
        dct = np.cos(np.pi / n_mels * (k[None, :] + 0.5) * np.arange(n_cep + 1)[:, None])
        _basis[n_mels] = (b, dct)
    b, dct = _basis[n_mels]
    logmel = np.log(np.maximum(mag @ b.T, 1e-5))
    # the real cepstrum of the mel-warped log spectrum, log S = c0 + 2 sum c_n cos(.),
    # the scale of the usual mel-cepstral distortion; c0 (level) is left out
    return (logmel @ dct.T)[:, 1:] / n_mels


def mcd_dtw(a, b):
    """Mel cepstral distortion (dB) along the DTW path between a and b.  The
    cells of one anti-diagonal (i + j constant) depend only on the two before
    it, so each diagonal is one vector step; ties go to the diagonal move, then
    the vertical one."""
    d = np.sqrt(2 * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)) * (10 / np.log(10))
    n, m = d.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0
    steps = np.zeros((n + 1, m + 1), dtype=np.int32)
    for k in range(2, n + m + 1):
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        c = np.stack((acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]))
        s = np.stack((steps[i - 1, j - 1], steps[i - 1, j], steps[i, j - 1]))
        best = np.argmin(c, axis=0)
        cols = np.arange(len(i))
        acc[i, j] = d[i - 1, j - 1] + c[best, cols]
        steps[i, j] = s[best, cols] + 1
    return acc[n, m] / steps[n, m]


def read_failures(path):
    out = {}
    if os.path.exists(path):
        for l in open(path):
            if l.strip():
                i, why = l.split()
                out[i] = why
    return out


def main(work):
    ids = [l.split("|", 1)[0] for l in open(os.path.join(work, "dev.list")) if "|" in l]
    # our voice's takes: "ours" (tts --seed 0), then ours-take1 ... (--seed 1 ...)
    takes = ["ours"] + sorted((d for d in os.listdir(work) if re.fullmatch(r"ours-take\d+", d)),
                              key=lambda d: int(d[len("ours-take"):]))
    failures = {t: read_failures(os.path.join(work, "failures.list" if t == "ours" else t + "/failures.list"))
                for t in takes}
    systems = takes + ["teacher", "espeak"]
    if os.path.isdir(os.path.join(work, "ours-tf")) and os.listdir(os.path.join(work, "ours-tf")):
        systems.insert(len(takes), "ours-tf")
    err = {s: 0 for s in systems}
    nref = {s: 0 for s in systems}
    mcd = {s: [] for s in systems}
    ratio = {s: [] for s in systems}
    for i in ids:
        ref = words(open(os.path.join(work, "text", i + ".norm")).read())
        tx, tsr = read_wav(os.path.join(work, "teacher", i + ".wav"))
        tdur = len(tx) / tsr
        tcep = mel_cepstrum(resample(tx, tsr, 22050))
        for s in systems:
            path = os.path.join(work, s, i + ".wav")
            hyp_path = os.path.join(work, s, i + ".hyp")
            hyp = words(open(hyp_path).read()) if os.path.exists(hyp_path) else []
            err[s] += edit_distance(ref, hyp)
            nref[s] += len(ref)
            if not os.path.exists(path) or os.path.getsize(path) < 100:
                continue
            x, sr = read_wav(path)
            ratio[s].append(len(x) / sr / tdur)
            if s != "teacher":
                mcd[s].append(mcd_dtw(mel_cepstrum(resample(x, sr, 22050)), tcep))
            if s in failures and abs(ratio[s][-1] - 1) > 0.3 and i not in failures[s]:
                failures[s][i] = "duration"
    wer = not os.path.exists(os.path.join(work, "no-recognizer"))
    if wer:
        print(f"{len(ids)} held-out sentences (dev set), recognizer pocketsphinx en-us at 16 kHz\n")
    else:
        print(f"{len(ids)} held-out sentences (dev set); no recognizer for this language: no WER\n")
    print(f"{'system':<10} {'WER':>7} {'MCD dB':>8} {'dur ratio':>10} {'att. fail':>10}")
    for s in systems:
        w = f"{100.0 * err[s] / max(nref[s], 1):6.1f}%" if wer else f"{'-':>7}"
        m = f"{np.mean(mcd[s]):8.2f}" if mcd[s] else f"{'-':>8}"
        r = f"{np.mean(ratio[s]):10.2f}" if ratio[s] else f"{'-':>10}"
        f = f"{len(failures[s]):>10}" if s in failures else f"{'-':>10}"
        print(f"{s:<10} {w} {m} {r} {f}")
    t = err["teacher"] / max(nref["teacher"], 1)
    rates = [err[s] / max(nref[s], 1) for s in takes]
    if wer and t > 0:
        bar = "(bar: <= 1.25 for slt, <= 1.15 for new voices)"
        if len(takes) == 1:
            print(f"\nour WER / teacher WER = {rates[0] / t:.2f} {bar}")
        else:
            mean = float(np.mean(rates))
            print(f"\nour WER / teacher WER = {mean / t:.2f} {bar}, our WER the mean of {len(takes)} takes "
                  f"(tts --seed 0..{len(takes) - 1}): {100 * mean:.1f}%, the takes "
                  + " / ".join(f"{100 * r:.1f}%" for r in rates) + f" (the first take alone: {rates[0] / t:.2f})")
    elif len(takes) > 1:
        print(f"\n{len(takes)} takes (tts --seed 0..{len(takes) - 1}): MCD "
              + ", ".join(f"{np.mean(mcd[s]):.2f}" for s in takes if mcd[s]) + " dB")
    if "ours-tf" in systems:
        print("ours-tf: our model teacher-forced on the teacher's frames (its predictions alone,"
              " without the errors its own fed-back frames add)")
    if os.path.isdir(os.path.join(work, "chapter")):
        print(chapter(work, wer))
    for s in takes:
        if failures[s]:
            kinds = {}
            for v in failures[s].values():
                kinds[v] = kinds.get(v, 0) + 1
            print(f"attention failures of {s} by kind:", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main(sys.argv[1])

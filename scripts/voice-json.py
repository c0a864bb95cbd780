#!/usr/bin/python3
"""voice-json.py - the voice file of a voice made by scripts/make-voice.sh.

usage: scripts/voice-json.py RECIPE.conf MODEL.safetensors CPU_LEDGER EVAL_TXT > NAME.json

Writes voices/NAME.json from the recipe (name, language, espeak-ng voice,
teacher, text sources, licences), the model's own metadata (sample rate, mel
bands and band limits, training step), the training ledger (one "wall user
sys" line per training run, seconds) and the evaluation's table (its lines
are kept as they are, in "evaluation").  Uses the standard library only.
"""
import json
import shlex
import struct
import sys


def read_recipe(path):
    """KEY=VALUE lines of a bash fragment (values quoted as in the shell)."""
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if not key.isidentifier():
            continue
        words = shlex.split(value, comments=True)
        out[key] = " ".join(words)
    return out


def model_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > 64 << 20:
            raise ValueError("%s: header too large" % path)
        header = json.loads(f.read(n))
    meta = header.get("__metadata__", {})
    cfg = json.loads(meta.get("config", "{}"))
    return meta, cfg


def ledger(path):
    wall = cpu = 0.0
    runs = 0
    try:
        for line in open(path):
            parts = line.split()[:3]  # a 4th word "estimated": ranks x wall (MPI runs)
            if len(parts) == 3:
                w, u, s = (float(x) for x in parts)
                wall += w
                cpu += u + s
                runs += 1
    except FileNotFoundError:
        pass
    return wall, cpu, runs


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 1
    recipe, model, cpu_ledger, eval_txt = argv
    r = read_recipe(recipe)
    meta, cfg = model_metadata(model)
    wall, cpu, runs = ledger(cpu_ledger)
    try:
        evaluation = [l.rstrip("\n") for l in open(eval_txt, encoding="utf-8") if l.strip()]
    except FileNotFoundError:
        evaluation = []
    step = int(meta.get("step", "0"))
    name = r["name"]
    voice = {
        "name": name,
        "description": r.get("description", ""),
        "language": r.get("language", "en-us"),
        "espeak_voice": r.get("espeak_voice", "en-us"),
        "sex": r.get("sex", ""),
        "model": "../models/%s.safetensors" % name,
        "sample_rate": cfg.get("sample_rate", 22050),
        "defaults": {"speed": 1, "gl_iters": 8, "sharpen": 1, "sentence_silence": 0.2, "volume": 1},
        "license": "GPL-3.0-or-later (weights); training audio distilled from %s (%s); text: %s"
        % (r.get("teacher_name", r.get("teacher", "?")), r.get("teacher_license", "licence unknown"),
           r.get("text_license", "licence unknown")),
        "provenance": "made by scripts/make-voice.sh %s (voices/recipes/%s.conf): %d steps of tts-train, "
        "%.1f h of CPU, %.1f h wall clock in %d run(s)" % (name, name, step, cpu / 3600, wall / 3600, runs),
        "training": {
            "teacher": r.get("teacher_name", r.get("teacher", "")),
            "teacher_package": r.get("teacher_package", ""),
            "text_sources": r.get("text_sources", ""),
            "text_package": r.get("text_package", ""),
            "steps": step,
            "cpu_hours": round(cpu / 3600, 2),
            "wall_hours": round(wall / 3600, 2),
            "mel_bands": cfg.get("n_mels"),
            "fmax_hz": cfg.get("fmax", 8000),
            "recipe_flags": r.get("train_flags", ""),
        },
        "evaluation": evaluation,
    }
    json.dump(voice, sys.stdout, indent="\t", ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

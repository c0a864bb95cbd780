#!/usr/bin/python3
"""st_compare.py A.safetensors B.safetensors [PREFIX_TO_SKIP...]

Prints the largest absolute difference between the tensors of two
safetensors files (same names and shapes; tensors whose names start with a
skipped prefix are left out), and the name of the tensor where it is.
Exits 2 when the files do not hold the same tensors."""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(t["shape"])
    return out


def main(argv):
    a, b, skip = load(argv[0]), load(argv[1]), tuple(argv[2:])
    names = sorted(k for k in a if not k.startswith(skip)) if skip else sorted(a)
    if sorted(k for k in b if not skip or not k.startswith(skip)) != names:
        print("the files hold different tensors")
        return 2
    worst, where, scale, total, count = 0.0, "", 0.0, 0.0, 0
    for k in names:
        if a[k].shape != b[k].shape:
            print("%s: shapes %s and %s" % (k, a[k].shape, b[k].shape))
            return 2
        diff = np.abs(a[k].astype(np.float64) - b[k])
        d = float(np.max(diff)) if a[k].size else 0.0
        total += float(np.sum(diff))
        count += a[k].size
        scale = max(scale, float(np.max(np.abs(a[k]))) if a[k].size else 0.0)
        if d > worst:
            worst, where = d, k
    print("%.3g %s (largest weight %.3g; mean difference %.3g)" % (worst, where or "-", scale,
                                                                  total / max(count, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

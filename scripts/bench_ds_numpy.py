#!/usr/bin/python3
"""Dawid-Skene EM in straightforward numpy, timed side by side with labeling/aggregate's Go
DawidSkene on the same files.

The same algorithm as the Go code: posteriors start from majority-vote shares; each iteration is
an M-step (class prior and per-worker confusion matrices, every count smoothed by +0.01) then an
E-step (log prior + sum of log confusion entries, normalised per item); EM stops when the mean
total-variation change of the item posteriors is at most 1e-5, or after 200 iterations. The numpy
code is vectorised the usual way: one np.bincount per class for the M-step counts and for the
E-step sums of log confusion entries, no Python loop over labels, items or workers. Run with
Debian's interpreter (/usr/bin/python3, package python3-numpy); numpy's bincount is single-threaded.

Data sets: --data DIR reads a Get-Another-Label directory (labels.txt, gold.txt, categories.txt;
default labeling/testdata/adultcontent2); --synthetic writes a simulated crowd of 10^6 labels
(200,000 items x 5 labels, 1,000 workers of accuracy uniform in [0.5, 0.95], 4 classes, seeded) to
a temporary directory in that format and uses it.

Side by side: --go BINARY names a test binary of labeling/aggregate
(go test -c -o /tmp/agg.test ./labeling/aggregate); each of --rounds rounds then times numpy
(median of --repeat runs) and then the Go binary on the same directory
(BenchmarkDawidSkeneData, GOMAXPROCS=--procs, default 1, mean of --repeat runs), checks that both ran the same
number of iterations, and prints both times and their ratio.

Usage: scripts/bench_ds_numpy.py [--data DIR | --synthetic] [--repeat N] [--go BINARY --rounds R --procs P]
Prints one JSON object per line.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:
    sys.exit("bench_ds_numpy.py: numpy is missing: apt-get install python3-numpy, run with /usr/bin/python3")


def load(d):
    workers, items, classes = {}, {}, {}
    with open(os.path.join(d, "categories.txt")) as f:
        for line in f:
            if line.strip():
                classes.setdefault(line.split()[0], len(classes))
    w, it, l = [], [], []
    with open(os.path.join(d, "labels.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            a, b, c = line.split("\t")
            w.append(workers.setdefault(a, len(workers)))
            it.append(items.setdefault(b, len(items)))
            l.append(classes[c.strip()])
    gold = {}
    with open(os.path.join(d, "gold.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            b, c = line.split("\t")
            if b in items:
                gold[items[b]] = classes[c.strip()]
    return np.array(w), np.array(it), np.array(l), len(workers), len(items), len(classes), gold


def synthetic(d, items=200_000, workers=1000, per_item=5, K=4, lo=0.5, hi=0.95, seed=11):
    """Writes the shape of the Go benchmark BenchmarkDawidSkeneMillion (a different draw)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, items)
    acc = lo + (hi - lo) * rng.random(workers)
    it = np.repeat(np.arange(items), per_item)
    w = rng.integers(0, workers, items * per_item)
    right = rng.random(items * per_item) < acc[w]
    wrong = (truth[it] + 1 + rng.integers(0, K - 1, items * per_item)) % K  # uniform over the others
    lab = np.where(right, truth[it], wrong)
    # Zero-padded names: Go indexes names in byte order, numpy in order of appearance; both agree.
    with open(os.path.join(d, "labels.txt"), "w") as f:
        f.writelines(f"w{a:05d}\ti{b:07d}\tc{c}\n" for a, b, c in zip(w, it, lab))
    with open(os.path.join(d, "gold.txt"), "w") as f:
        f.writelines(f"i{b:07d}\tc{c}\n" for b, c in enumerate(truth))
    with open(os.path.join(d, "categories.txt"), "w") as f:
        f.writelines(f"c{k}\n" for k in range(K))


def dawid_skene(w, it, l, W, I, K, smoothing=0.01, tol=1e-5, max_iter=200):
    counts = np.zeros((I, K))
    np.add.at(counts, (it, l), 1.0)
    post = counts / counts.sum(axis=1, keepdims=True)
    cell = w * K + l
    for n in range(1, max_iter + 1):
        prior = smoothing + post.sum(axis=0)
        prior /= prior.sum()
        conf = np.empty((W * K, K))
        for k in range(K):
            conf[:, k] = smoothing + np.bincount(cell, weights=post[it, k], minlength=W * K)
        conf = conf.reshape(W, K, K)
        conf /= conf.sum(axis=1, keepdims=True)
        logconf = np.log(conf).reshape(W * K, K)
        logpost = np.tile(np.log(prior), (I, 1))
        for k in range(K):
            logpost[:, k] += np.bincount(it, weights=logconf[cell, k], minlength=I)
        logpost -= logpost.max(axis=1, keepdims=True)
        new = np.exp(logpost)
        new /= new.sum(axis=1, keepdims=True)
        change = 0.5 * np.abs(new - post).sum(axis=1).mean()
        post = new
        if change <= tol:
            break
    return post, n


def run_numpy(data, repeat):
    w, it, l, W, I, K, gold = load(data)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        post, n = dawid_skene(w, it, l, W, I, K)
        times.append(time.perf_counter() - t)
    pred = post.argmax(axis=1)
    acc = sum(pred[i] == g for i, g in gold.items()) / len(gold)
    times.sort()
    return {"impl": "numpy", "numpy": np.__version__, "labels": len(w), "iterations": n,
            "accuracy": round(float(acc), 4), "seconds": times[len(times) // 2]}


def run_go(binary, data, repeat, procs):
    env = dict(os.environ, GOMAXPROCS=str(procs))
    out = subprocess.run([binary, "-test.run", "^$", "-test.bench", "^BenchmarkDawidSkeneData$",
                          "-test.benchtime", f"{repeat}x", "-aggregate.data", os.path.abspath(data)],
                         env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"BenchmarkDawidSkeneData\S*\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) accuracy\s+([\d.]+) iterations\s+(\d+) labels", out)
    if not m:
        sys.exit("bench_ds_numpy.py: unexpected benchmark output:\n" + out)
    return {"impl": "go", "labels": int(m.group(4)), "iterations": int(float(m.group(3))),
            "accuracy": round(float(m.group(2)), 4), "seconds": float(m.group(1)) / 1e9}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "labeling", "testdata", "adultcontent2"))
    ap.add_argument("--synthetic", action="store_true", help="use a simulated crowd of 10^6 labels instead of --data")
    ap.add_argument("--go", help="test binary of labeling/aggregate to time side by side")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--procs", type=int, default=1, help="GOMAXPROCS for the Go side (numpy runs on one core)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data
        if a.synthetic:
            synthetic(tmp)
            data = tmp
        if not a.go:
            print(json.dumps(run_numpy(data, a.repeat)))
            return
        ratios = []
        for r in range(a.rounds):
            py = run_numpy(data, a.repeat)
            go = run_go(a.go, data, a.repeat, a.procs)
            if py["iterations"] != go["iterations"]:
                sys.exit(f"bench_ds_numpy.py: numpy ran {py['iterations']} iterations, Go {go['iterations']}")
            ratios.append(py["seconds"] / go["seconds"])
            print(json.dumps({"round": r + 1, "go_procs": a.procs, "labels": go["labels"], "iterations": go["iterations"],
                              "accuracy_numpy": py["accuracy"], "accuracy_go": go["accuracy"],
                              "numpy_ms": round(py["seconds"] * 1e3, 1), "go_ms": round(go["seconds"] * 1e3, 1),
                              "ratio": round(ratios[-1], 1)}), flush=True)
        print(json.dumps({"rounds": a.rounds, "ratio_min": round(min(ratios), 1), "ratio_max": round(max(ratios), 1)}))


if __name__ == "__main__":
    main()

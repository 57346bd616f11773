#!/usr/bin/python3
"""Dawid-Skene EM on AdultContent2 in straightforward numpy, timed: the side-by-side anchor for
labeling/aggregate's BenchmarkDawidSkeneAdultContent2 (scripts/bench_ds_compare.sh runs both).

The same algorithm as the Go code: posteriors start from majority-vote shares; each iteration is
an M-step (class prior and per-worker confusion matrices, every count smoothed by +0.01) then an
E-step (log prior + sum of log confusion entries, normalised per item); EM stops when the mean
total-variation change of the item posteriors is at most 1e-5, or after 200 iterations. Run with
Debian's interpreter (/usr/bin/python3, package python3-numpy).

Usage: scripts/bench_ds_numpy.py [--repeat N] [--data labeling/testdata/adultcontent2]
Prints one JSON object: iterations, accuracy on the gold items, median seconds per run.
"""
import argparse
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("bench_ds_numpy.py: numpy is missing: apt-get install python3-numpy, run with /usr/bin/python3")


def load(d):
    workers, items, classes = {}, {}, {}
    with open(os.path.join(d, "categories.txt")) as f:
        for line in f:
            c = line.split()[0]
            classes.setdefault(c, len(classes))
    w, it, l = [], [], []
    with open(os.path.join(d, "labels.txt")) as f:
        for line in f:
            a, b, c = line.split("\t")
            w.append(workers.setdefault(a, len(workers)))
            it.append(items.setdefault(b, len(items)))
            l.append(classes[c.strip()])
    gold = {}
    with open(os.path.join(d, "gold.txt")) as f:
        for line in f:
            b, c = line.split("\t")
            if b in items:
                gold[items[b]] = classes[c.strip()]
    return np.array(w), np.array(it), np.array(l), len(workers), len(items), len(classes), gold


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "labeling", "testdata", "adultcontent2"))
    a = ap.parse_args()
    w, it, l, W, I, K, gold = load(a.data)
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        post, n = dawid_skene(w, it, l, W, I, K)
        times.append(time.perf_counter() - t)
    pred = post.argmax(axis=1)
    acc = sum(pred[i] == g for i, g in gold.items()) / len(gold)
    times.sort()
    print(json.dumps({"impl": "numpy", "numpy": np.__version__, "labels": len(w), "iterations": n,
                      "accuracy": round(float(acc), 4), "seconds": times[len(times) // 2]}))


if __name__ == "__main__":
    main()

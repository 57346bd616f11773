#!/usr/bin/python3
"""Measure PyTorch CPU training-step throughput for comparison with deai's Go runtime.

PyTorch is a comparison point only, never a dependency of the SDK. This script needs
Debian's torch (package python3-torch, 1.13), hence the /usr/bin/python3 shebang: the
python3 found first on PATH may be another interpreter without torch.

For each model (mlp, cnn), each thread count T from --threads and each of --repeat
rounds, the script builds the model from a fixed seed, trains it with SGD
(lr=0.01, momentum=0.9) and cross-entropy on one fixed random batch, warms up, then
counts the training steps (zero_grad, forward, loss, backward, optimizer step) that
complete in --seconds of wall-clock time. Rounds are interleaved (round 1 of every
configuration, then round 2, ...) so that a change in machine load spreads over all
configurations instead of biasing one.

Output: one JSON object per configuration and line on stdout, with the median over
rounds, for example

  {"impl": "pytorch", "torch": "1.13.0", "model": "mlp", "batch": 64, "threads": 1,
   "samples_per_sec": 101234.5, "step_ms": 0.632, ...}

With --best, only the configuration with the highest median samples_per_sec is printed
for each model. Progress goes to stderr (silence it with --quiet).

Usage:
  scripts/bench_torch.py                         # threads 1,2; 3 s; 3 rounds
  scripts/bench_torch.py --threads 1,2 --seconds 3 --repeat 3 --best
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "bench_torch.py: cannot import torch with %s (%s).\n"
        "Install Debian's PyTorch with `apt-get install -y python3-torch` and run this "
        "script with /usr/bin/python3 (its shebang), not another python3 on PATH.\n"
        % (sys.executable, exc)
    )
    sys.exit(2)

MODELS = ("mlp", "cnn")
NUM_CLASSES = 10


def build_model(name):
    """Return a freshly initialised model; call after seeding torch."""
    if name == "mlp":
        return nn.Sequential(
            nn.Linear(784, 128),
            nn.ReLU(),
            nn.Linear(128, NUM_CLASSES),
        )
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, NUM_CLASSES),
        )
    raise ValueError("unknown model %r" % name)


def make_inputs(name, batch, seed):
    """Return a fixed random (inputs, labels) batch for the model."""
    gen = torch.Generator().manual_seed(seed)
    shape = (batch, 784) if name == "mlp" else (batch, 1, 28, 28)
    x = torch.rand(shape, generator=gen, dtype=torch.float32)
    y = torch.randint(0, NUM_CLASSES, (batch,), generator=gen, dtype=torch.int64)
    return x, y


def measure(name, batch, threads, seconds, warmup, seed):
    """Run one timed round; return (samples/s, steps, elapsed seconds, last loss)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build_model(name).to(dtype=torch.float32)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x, y = make_inputs(name, batch, seed + 1)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    # Warm-up: at least 5 steps and at least `warmup` seconds (allocator, thread pool,
    # oneDNN kernel selection, caches).
    clock = time.perf_counter
    deadline = clock() + warmup
    n = 0
    while n < 5 or clock() < deadline:
        step()
        n += 1

    steps = 0
    start = clock()
    deadline = start + seconds
    while True:
        loss = step()
        steps += 1
        now = clock()
        if now >= deadline:
            break
    elapsed = now - start
    return steps * batch / elapsed, steps, elapsed, float(loss.detach())


def blas_in_use():
    """Return (path, kind) of the BLAS library mapped into this process.

    Debian's torch calls sgemm through libblas.so.3, whichever library the
    libblas.so.3 alternative (or LD_LIBRARY_PATH) selects. With only libblas3
    installed that is the unoptimised Netlib reference BLAS, and every Linear
    layer runs several times slower than with OpenBLAS.
    """
    torch.ones(2, 2) @ torch.ones(2, 2)
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and "blas" in os.path.basename(parts[-1]).lower() and parts[-1] not in paths:
                    paths.append(parts[-1])
    except OSError:
        return "unknown", "unknown"
    if not paths:
        return "unknown", "unknown"
    path = paths[0]
    low = path.lower()
    if "openblas" in low:
        kind = "openblas"
    elif "blis" in low:
        kind = "blis"
    elif "atlas" in low:
        kind = "atlas"
    elif "/blas/libblas.so" in low:
        kind = "reference"
    else:
        kind = "other"
    return path, kind


def parse_threads(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("threads must be a comma-separated list of integers: %r" % text)
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("threads must list positive integers: %r" % text)
    return values


def parse_models(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in MODELS]
    if not values or bad:
        raise argparse.ArgumentTypeError("models must be a comma-separated subset of %s: %r" % (",".join(MODELS), text))
    return values


def positive_float(text):
    v = float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be > 0: %r" % text)
    return v


def positive_int(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1: %r" % text)
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch CPU training-step throughput (samples/s).")
    ap.add_argument("--threads", type=parse_threads, default=parse_threads("1,2"),
                    help="comma-separated torch.set_num_threads values (default 1,2)")
    ap.add_argument("--models", type=parse_models, default=list(MODELS),
                    help="comma-separated models among mlp,cnn (default both)")
    ap.add_argument("--batch", type=positive_int, default=64, help="batch size (default 64)")
    ap.add_argument("--seconds", type=positive_float, default=3.0,
                    help="measured seconds per configuration and round (default 3)")
    ap.add_argument("--warmup", type=float, default=0.5,
                    help="warm-up seconds before each measurement, at least 5 steps (default 0.5)")
    ap.add_argument("--repeat", type=positive_int, default=3,
                    help="rounds per configuration; the median is reported (default 3)")
    ap.add_argument("--seed", type=int, default=1, help="seed for weights and inputs (default 1)")
    ap.add_argument("--best", action="store_true",
                    help="print only the best thread count per model")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)

    blas_path, blas_kind = blas_in_use()
    if blas_kind == "reference" and not args.quiet:
        sys.stderr.write(
            "bench_torch: warning: torch uses the Netlib reference BLAS (%s); Linear layers will be\n"
            "  several times slower than with an optimised BLAS. For a fair comparison install\n"
            "  `apt-get install -y libopenblas0-pthread` (switches the libblas.so.3 alternative).\n" % blas_path)

    configs = [(m, t) for m in args.models for t in args.threads]
    runs = {c: [] for c in configs}
    for r in range(args.repeat):
        for model, threads in configs:
            sps, steps, elapsed, loss = measure(model, args.batch, threads, args.seconds, args.warmup, args.seed)
            runs[(model, threads)].append((sps, steps, elapsed, loss))
            if not args.quiet:
                sys.stderr.write("bench_torch: round %d/%d %s threads=%d: %.1f samples/s (%d steps in %.2f s, loss %.4g)\n"
                                 % (r + 1, args.repeat, model, threads, sps, steps, elapsed, loss))
                sys.stderr.flush()

    results = []
    for model, threads in configs:
        rs = runs[(model, threads)]
        rates = [x[0] for x in rs]
        med = statistics.median(rates)
        results.append({
            "impl": "pytorch",
            "torch": torch.__version__,
            "model": model,
            "batch": args.batch,
            "threads": threads,
            "samples_per_sec": round(med, 1),
            "step_ms": round(1000.0 * args.batch / med, 4),
            "runs_samples_per_sec": [round(v, 1) for v in rates],
            "seconds": args.seconds,
            "repeat": args.repeat,
            "final_loss": rs[-1][3],
            "blas": blas_kind,
            "blas_path": blas_path,
            "python": platform.python_version(),
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        })

    if args.best:
        best = {}
        for res in results:
            cur = best.get(res["model"])
            if cur is None or res["samples_per_sec"] > cur["samples_per_sec"]:
                best[res["model"]] = res
        results = [best[m] for m in args.models]

    for res in results:
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

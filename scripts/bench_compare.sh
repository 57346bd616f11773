#!/usr/bin/env bash
# bench_compare.sh compares training-step throughput (samples/s, batch 64) of PyTorch on CPU
# (scripts/bench_torch.py, best thread count) with deai's Go runtime
# (BenchmarkTrainStep/{mlp,cnn}/b64 in ./accel/cpu).
#
# The machines are shared and noisy, so both sides run in one command and interleaved:
# pytorch, go, pytorch, go, ... for ROUNDS rounds. The table gives, per model, the median over
# rounds of PyTorch's best samples/s, of Go's samples/s, and of the per-round ratio go/pytorch.
#
# Usage (from anywhere in the repository):
#   scripts/bench_compare.sh              # 3 rounds, 3 s per configuration
#   scripts/bench_compare.sh --selftest   # check the go test output parser on captured lines
#
# Settings (environment):
#   ROUNDS=3            interleaved rounds
#   BENCHTIME=3s        go test -benchtime
#   TORCH_SECONDS=3     bench_torch.py --seconds (per thread count)
#   TORCH_THREADS=1,2   bench_torch.py --threads (the best one counts)
#   TORCH_REPEAT=1      bench_torch.py --repeat within a round
#   TORCH_PYTHON=/usr/bin/python3   interpreter with Debian's python3-torch
#   GO_BENCH_FLAGS=     extra flags for the test binary, e.g. "-test.cpu 1"
set -euo pipefail

ROUNDS=${ROUNDS:-3}
BENCHTIME=${BENCHTIME:-3s}
TORCH_SECONDS=${TORCH_SECONDS:-3}
TORCH_THREADS=${TORCH_THREADS:-1,2}
TORCH_REPEAT=${TORCH_REPEAT:-1}
TORCH_PYTHON=${TORCH_PYTHON:-/usr/bin/python3}
GO_BENCH_FLAGS=${GO_BENCH_FLAGS:-}
BENCH_RE='BenchmarkTrainStep/(mlp|cnn)/b64'

# parse_go_bench reads `go test -bench` output on stdin and prints "model samples_per_sec" for each
# BenchmarkTrainStep/<model>/b64[-P] line, taking the value in front of the "samples/s" unit.
parse_go_bench() {
	awk '
		$1 ~ /^BenchmarkTrainStep\/[A-Za-z0-9_]+\/b64(-[0-9]+)?$/ {
			split($1, part, "/")
			for (i = 3; i <= NF; i++) {
				if ($i == "samples/s") {
					print part[2], $(i - 1)
					break
				}
			}
		}
	'
}

# parse_torch_json reads bench_torch.py JSON lines on stdin and prints "model samples_per_sec threads".
parse_torch_json() {
	"$TORCH_PYTHON" -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line:
        o = json.loads(line)
        print(o["model"], o["samples_per_sec"], o["threads"])
'
}

selftest() {
	local sample got want
	sample=$'goos: linux\ngoarch: amd64\npkg: github.com/deai-go/deai/accel/cpu\ncpu: Intel(R) Xeon(R) Processor\n'
	sample+=$'BenchmarkTrainStep/mlp/b64-2   \t    1000\t   1234567 ns/op\t     51840 samples/s\n'
	sample+=$'BenchmarkTrainStep/cnn/b64-2   \t     200\t  15000000 ns/op\t      4266.7 samples/s\t  12 B/op\t 1 allocs/op\n'
	sample+=$'BenchmarkTrainStep/mlp/b256-2  \t     300\t   4000000 ns/op\t     64000 samples/s\n'
	sample+=$'BenchmarkTrainStep/cnn/b64\t     100\t  16000000 ns/op\t      4000 samples/s\n'
	sample+=$'BenchmarkOther/mlp/b64-2       \t    1000\t   1000000 ns/op\t     99999 samples/s\n'
	sample+=$'PASS\nok  \tgithub.com/deai-go/deai/accel/cpu\t12.345s\n'
	got=$(printf '%s' "$sample" | parse_go_bench)
	want=$'mlp 51840\ncnn 4266.7\ncnn 4000'
	if [[ "$got" != "$want" ]]; then
		printf 'bench_compare: selftest FAILED\n got:\n%s\n want:\n%s\n' "$got" "$want" >&2
		return 1
	fi
	got=$(printf '%s\n' '{"impl":"pytorch","model":"mlp","batch":64,"threads":1,"samples_per_sec":12345.6}' | parse_torch_json)
	if [[ "$got" != "mlp 12345.6 1" ]]; then
		printf 'bench_compare: selftest FAILED (torch json)\n got: %s\n' "$got" >&2
		return 1
	fi
	echo "bench_compare: selftest ok"
}

if [[ "${1:-}" == "--selftest" ]]; then
	selftest
	exit
fi
if [[ $# -gt 0 ]]; then
	echo "usage: $0 [--selftest]   (settings via ROUNDS, BENCHTIME, TORCH_* and GO_BENCH_FLAGS)" >&2
	exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! "$TORCH_PYTHON" -c 'import torch' 2>/dev/null; then
	echo "bench_compare: $TORCH_PYTHON cannot import torch: apt-get install -y python3-torch" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Build the test binary once, so that compiling does not run between timed rounds.
echo "bench_compare: building ./accel/cpu test binary" >&2
go test -c -o "$tmp/cpu.test" ./accel/cpu
if [[ ! -x "$tmp/cpu.test" ]]; then
	echo "bench_compare: go test -c ./accel/cpu wrote no binary (no test files?)" >&2
	exit 1
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench_compare: start: $(uptime)" >&2
data="$tmp/data"
: >"$data"
for ((r = 1; r <= ROUNDS; r++)); do
	echo "bench_compare: round $r/$ROUNDS pytorch" >&2
	"$TORCH_PYTHON" "$root/scripts/bench_torch.py" --best --quiet \
		--threads "$TORCH_THREADS" --seconds "$TORCH_SECONDS" --repeat "$TORCH_REPEAT" \
		>"$tmp/torch.$r.json"
	parse_torch_json <"$tmp/torch.$r.json" | sed "s/^/$r pytorch /" >>"$data"

	echo "bench_compare: round $r/$ROUNDS go" >&2
	# shellcheck disable=SC2086 # GO_BENCH_FLAGS is a list of flags.
	(cd accel/cpu && "$tmp/cpu.test" -test.run '^$' -test.bench "$BENCH_RE" \
		-test.benchtime "$BENCHTIME" -test.count 1 $GO_BENCH_FLAGS) >"$tmp/go.$r.txt"
	grep '^Benchmark' "$tmp/go.$r.txt" >&2 || true
	if [[ -z "$(parse_go_bench <"$tmp/go.$r.txt")" ]]; then
		echo "bench_compare: no BenchmarkTrainStep/<model>/b64 line with a samples/s column in:" >&2
		cat "$tmp/go.$r.txt" >&2
		exit 1
	fi
	parse_go_bench <"$tmp/go.$r.txt" | sed "s/^/$r go /" >>"$data"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench_compare: end: $(uptime)" >&2

blas=$("$TORCH_PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.readline()).get("blas","unknown"))' <"$tmp/torch.1.json")
torchver=$("$TORCH_PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.readline()).get("torch","?"))' <"$tmp/torch.1.json")
echo "pytorch $torchver (BLAS: $blas), go $(go env GOVERSION), $ROUNDS interleaved rounds, batch 64"
echo "load averages (1/5/15 min): start $load_start, end $load_end; T = PyTorch's best thread count(s)"
"$TORCH_PYTHON" - "$data" <<'EOF'
import statistics, sys

rows = {}  # model -> round -> impl -> (sps, threads)
for line in open(sys.argv[1]):
    f = line.split()
    rnd, impl, model, sps = int(f[0]), f[1], f[2], float(f[3])
    threads = f[4] if len(f) > 4 else "-"
    rows.setdefault(model, {}).setdefault(rnd, {})[impl] = (sps, threads)

def med(xs):
    return statistics.median(xs) if xs else float("nan")

print("%-6s %22s %16s %14s" % ("model", "pytorch best samples/s", "go samples/s", "go/pytorch"))
for model in sorted(rows, key=lambda m: ("mlp", "cnn").index(m) if m in ("mlp", "cnn") else 9):
    rounds = rows[model].values()
    pt = [r["pytorch"][0] for r in rounds if "pytorch" in r]
    go = [r["go"][0] for r in rounds if "go" in r]
    ratio = [r["go"][0] / r["pytorch"][0] for r in rounds if "go" in r and "pytorch" in r]
    threads = sorted({r["pytorch"][1] for r in rounds if "pytorch" in r})
    print("%-6s %22s %16.0f %14.3f" % (
        model, "%.0f (T=%s)" % (med(pt), ",".join(threads)), med(go), med(ratio)))
EOF

#!/usr/bin/env bash
# bench_cores.sh measures how BenchmarkTrainStep/{mlp,cnn}/b64 (./accel/cpu) scales from one
# core to two: one test binary, runs at -test.cpu 1 and 2 interleaved for ROUNDS rounds (the
# machines are shared and noisy, so both sides of every ratio come from the same round), then a
# table per model of samples/s at 1 and 2 cores, the per-round ratio and the median ratio.
# The bits do not depend on the worker count (TestGoldenHashes, TestWorkersAndGOMAXPROCS).
#
# Usage (from anywhere in the repository):
#   scripts/bench_cores.sh            # 3 rounds, 2 s per configuration
# Settings (environment): ROUNDS=3, BENCHTIME=2s, MODELS='mlp|cnn'.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
BENCHTIME=${BENCHTIME:-2s}
MODELS=${MODELS:-mlp|cnn}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp -d)/cpu.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$root" && go test -c -o "$bin" ./accel/cpu)
out=$(mktemp)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
	for c in 1 2; do
		(cd "$root/accel/cpu" && "$bin" -test.run '^$' -test.bench "BenchmarkTrainStep/($MODELS)/b64" \
			-test.benchtime "$BENCHTIME" -test.cpu "$c") |
			awk -v round="$r" -v cores="$c" '$1 ~ /^BenchmarkTrainStep\// {
				split($1, p, "/"); for (i = 3; i <= NF; i++) if ($i == "samples/s") print round, cores, p[2], $(i-1)
			}' >>"$out"
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
	{ v[$3, $1, $2] = $4; models[$3] = 1; if ($1 > rounds) rounds = $1 }
	END {
		printf "%-5s %-6s %14s %14s %8s\n", "model", "round", "1 core", "2 cores", "ratio"
		for (m in models) {
			n = 0
			for (r = 1; r <= rounds; r++) {
				a = v[m, r, 1]; b = v[m, r, 2]
				if (a == "" || b == "") continue
				ratio[++n] = b / a
				printf "%-5s %-6d %14.0f %14.0f %8.2f\n", m, r, a, b, b / a
			}
			# median of the per-round ratios (insertion sort; n is small)
			for (i = 2; i <= n; i++) { x = ratio[i]; for (j = i - 1; j >= 1 && ratio[j] > x; j--) ratio[j + 1] = ratio[j]; ratio[j + 1] = x }
			med = (n % 2) ? ratio[(n + 1) / 2] : (ratio[n / 2] + ratio[n / 2 + 1]) / 2
			printf "%-5s median 2-core/1-core ratio %.2f over %d rounds\n", m, med, n
		}
	}' "$out"
rm -f "$out"

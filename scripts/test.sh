#!/usr/bin/env bash
# The project's one test command: installs what the tests need, then runs every test.
#
#   ./scripts/test.sh            everything (what .ci/run runs)
#   FUZZTIME=5s ./scripts/test.sh   shorter fuzzing
#
# Steps: install Debian packages (dataset-fashion-mnist, qemu-user-static) when missing;
# gofmt and go vet; go test ./...; the determinism matrix (race detector, GOMAXPROCS 1/2/4/8,
# GOAMD64=v1 and v3, GOARCH=386, GOARCH=arm64 under qemu-aarch64-static); the accuracy runs on
# the full Fashion-MNIST; bounded fuzzing of every Fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-15s}
step() { printf '\n== %s\n' "$*"; }

step "install test dependencies"
need=()
for pkg in dataset-fashion-mnist qemu-user-static protobuf-compiler; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "ok: dataset-fashion-mnist, qemu-user-static, protobuf-compiler"

step "gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...

step "go test ./..."
go test -count=1 ./...

# The packages whose results must be bit-identical everywhere (the runtime, proofs, the ledger,
# label aggregation).
exact=(./accel/... ./internal/... ./pol/... ./stake/... ./labeling/...)

step "determinism: race detector, GOMAXPROCS 1,2,4,8"
go test -count=1 -race -short "${exact[@]}"
go test -count=1 -cpu 1,2,4,8 -run 'Golden' "${exact[@]}"

step "determinism: GOAMD64=v3 (FMA-capable code generation)"
GOAMD64=v3 go test -count=1 "${exact[@]}"

step "determinism: GOARCH=386"
# The referee (dispute, dispute/accelvm) too: its verdicts must not depend on the machine.
GOARCH=386 go test -count=1 -short "${exact[@]}" ./dispute/...

step "determinism: GOARCH=arm64 under qemu-aarch64-static"
GOARCH=arm64 go test -count=1 -short -exec qemu-aarch64-static "${exact[@]}"

step "accuracy on the full Fashion-MNIST test set"
go test -count=1 -timeout 60m -run 'TestAccuracy' ./examples/train -accuracy -v | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+main_test)' || exit 1

step "bounded fuzzing ($FUZZTIME per target)"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target"
    log=$(mktemp)
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
      # Go 1.26's fuzz coordinator can fail a run at the -fuzztime boundary with a bare
      # "context deadline exceeded" and no failing input (golang/go#75804, fixed in Go 1.27).
      # That is not a finding: anything else, or a written failing input, fails the build.
      if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" && ! grep -q 'panic:' "$log"; then
        echo "  (ignored: fuzz coordinator deadline race at -fuzztime, no failing input; golang/go#75804)"
      else
        cat "$log"; rm -f "$log"; exit 1
      fi
    fi
    rm -f "$log"
  done
done

step "all tests passed"

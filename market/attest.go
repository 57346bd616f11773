package market

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/internal/rng"
)

// The capacity benchmark: round i multiplies two BenchSize×BenchSize matrices whose entries
// are integers in [−2, 2] drawn from rng.New(seed, 2i) and rng.New(seed, 2i+1) in row-major
// order (entry = Uint32n(5) − 2). Every product and partial sum is an integer of magnitude
// at most 4·BenchSize < 2^24, so any float32 backend computes the exact result whatever its
// summation order, fused or not, on any device; the leaf of round i is accel.TensorHash of
// the [BenchSize, BenchSize] product. The attestation commits to the Merkle root
// (internal/merkle) over the leaves of rounds 0..Rounds-1.
const (
	// BenchSize is the matrix side of one benchmark round.
	BenchSize = 64
	// BenchGasPerRound is the work of one round: 2·BenchSize³ FLOPs of matmul (gas weight 1).
	BenchGasPerRound = 2 * BenchSize * BenchSize * BenchSize
	// MinRounds and MaxRounds bound an attestation's rounds.
	MinRounds = 1 << 6
	MaxRounds = 1 << 24
	// AttestSamples is how many rounds the chain recomputes to check an attestation.
	AttestSamples = 16
)

// BenchSeed returns the seed of an offer's benchmark: the first 8 bytes, big-endian, of
// SHA-256("deai/market/bench/v1\x00" ‖ offer ‖ beacon), where beacon is the beacon of the
// block the offer was posted in, so the workload cannot be computed in advance.
func BenchSeed(offer, beacon [32]byte) uint64 {
	h := sha256.New()
	h.Write([]byte("deai/market/bench/v1\x00"))
	h.Write(offer[:])
	h.Write(beacon[:])
	var s [32]byte
	h.Sum(s[:0])
	return binary.BigEndian.Uint64(s[:8])
}

func benchOperands(seed, round uint64) (a, b []float32) {
	a, b = make([]float32, BenchSize*BenchSize), make([]float32, BenchSize*BenchSize)
	for k, m := range [][]float32{a, b} {
		r := rng.New(seed, 2*round+uint64(k))
		for i := range m {
			m[i] = float32(int32(r.Uint32n(5)) - 2)
		}
	}
	return a, b
}

// RoundLeaf computes round i of the benchmark seeded with seed exactly, in integers, and
// returns its leaf: what every correct backend's float32 result hashes to.
func RoundLeaf(seed, round uint64) merkle.Hash {
	a, b := benchOperands(seed, round)
	var ai, bi [BenchSize * BenchSize]int32
	for i := range a {
		ai[i], bi[i] = int32(a[i]), int32(b[i])
	}
	c := make([]float32, BenchSize*BenchSize)
	for i := range BenchSize {
		for j := range BenchSize {
			var s int32
			for k := range BenchSize {
				s += ai[i*BenchSize+k] * bi[k*BenchSize+j]
			}
			c[i*BenchSize+j] = float32(s)
		}
	}
	return merkle.Hash(accel.TensorHash([]int{BenchSize, BenchSize}, c))
}

// RunBenchmark runs rounds rounds of the benchmark on backend (Backend.Exec with
// graph.PrimMatMul) and returns the leaves. The solver commits to merkle.Root of them.
func RunBenchmark(ctx context.Context, backend accel.Backend, seed, rounds uint64) ([]merkle.Hash, error) {
	if rounds < MinRounds || rounds > MaxRounds {
		return nil, fmt.Errorf("%w: %d rounds out of range [%d, %d]", ErrAttestation, rounds, MinRounds, MaxRounds)
	}
	leaves := make([]merkle.Hash, rounds)
	shape := []int{BenchSize, BenchSize}
	for i := range rounds {
		a, b := benchOperands(seed, i)
		out, err := backend.Exec(ctx, accel.Call{Prim: graph.PrimMatMul, Dims: graph.Dims{M: BenchSize, N: BenchSize, K: BenchSize},
			Inputs: []accel.Tensor{{Shape: shape, Data: a}, {Shape: shape, Data: b}}})
		if err != nil {
			return nil, fmt.Errorf("market: benchmark round %d: %w", i, err)
		}
		if len(out) != 1 {
			return nil, fmt.Errorf("market: benchmark round %d: %d outputs", i, len(out))
		}
		leaves[i] = merkle.Hash(accel.TensorHash(out[0].Shape, out[0].Data))
	}
	return leaves, nil
}

// SampleRounds returns the AttestSamples round indices the chain checks: index j is
// SHA-256("deai/market/sample/v1\x00" ‖ offer ‖ root ‖ beacon ‖ u32 j) mod rounds (first 8
// bytes, big-endian). beacon is the beacon of the block the proof lands in, which is fixed
// only after the root was committed.
func SampleRounds(offer, root, beacon [32]byte, rounds uint64) []uint64 {
	out := make([]uint64, AttestSamples)
	var buf [22 + 96 + 4]byte
	n := copy(buf[:], "deai/market/sample/v1\x00")
	n += copy(buf[n:], offer[:])
	n += copy(buf[n:], root[:])
	n += copy(buf[n:], beacon[:])
	for j := range out {
		binary.BigEndian.PutUint32(buf[n:], uint32(j))
		h := sha256.Sum256(buf[:n+4])
		out[j] = binary.BigEndian.Uint64(h[:8]) % rounds
	}
	return out
}

// ProveSamples returns the Merkle sibling paths of the sampled rounds, in SampleRounds
// order: the payload of a ProveAttestation transaction.
func ProveSamples(leaves []merkle.Hash, offer, beacon [32]byte) ([][]merkle.Hash, error) {
	t := merkle.New(leaves)
	root := t.Root()
	var out [][]merkle.Hash
	for _, i := range SampleRounds(offer, root, beacon, uint64(len(leaves))) {
		p, err := t.Proof(int(i))
		if err != nil {
			return nil, err
		}
		out = append(out, p.Siblings)
	}
	return out, nil
}

// CheckSamples recomputes each sampled round and verifies it against root with its path.
// It returns nil if every sample checks, or an ErrAttestation error naming the first that
// does not.
func CheckSamples(seed uint64, offer, root, beacon [32]byte, rounds uint64, paths [][]merkle.Hash) error {
	idx := SampleRounds(offer, root, beacon, rounds)
	if len(paths) != len(idx) {
		return fmt.Errorf("%w: %d paths, want %d", ErrAttestation, len(paths), len(idx))
	}
	for j, i := range idx {
		leaf := RoundLeaf(seed, i)
		if err := merkle.Verify(root, leaf, merkle.Proof{Index: i, Size: rounds, Siblings: paths[j]}); err != nil {
			return fmt.Errorf("%w: round %d: %w", ErrAttestation, i, err)
		}
	}
	return nil
}

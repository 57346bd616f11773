package market

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/holiman/uint256"
)

// Candidate is a verifier or whistleblower that may be assigned, with its weight (its bonded
// stake).
type Candidate struct {
	Addr   [20]byte
	Weight uint256.Int
}

// Assign draws k distinct candidates, each draw with probability proportional to weight
// among those not drawn yet, excluding every address in exclude (the solver's identities)
// and zero weights. Draw j takes r = SHA-256("deai/market/assign/v1\x00" ‖ task ‖ beacon ‖
// u32 j) as a 256-bit big-endian integer, reduced mod the remaining total weight, and picks
// the candidate whose cumulative weight range (candidates in ascending address order) holds
// r. beacon must be fixed after the proof was committed. It fails with ErrNoCandidates when
// fewer than k remain.
func Assign(task, beacon [32]byte, cands []Candidate, exclude [][20]byte, k int) ([][20]byte, error) {
	pool := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if !c.Weight.IsZero() && !slices.Contains(exclude, c.Addr) {
			pool = append(pool, c)
		}
	}
	slices.SortFunc(pool, func(a, b Candidate) int { return bytes.Compare(a.Addr[:], b.Addr[:]) })
	pool = slices.CompactFunc(pool, func(a, b Candidate) bool { return a.Addr == b.Addr })
	if len(pool) < k {
		return nil, fmt.Errorf("%w: %d eligible, need %d", ErrNoCandidates, len(pool), k)
	}
	var total uint256.Int
	for _, c := range pool {
		if _, o := total.AddOverflow(&total, &c.Weight); o {
			return nil, fmt.Errorf("%w: weights overflow", ErrStake)
		}
	}
	out := make([][20]byte, 0, k)
	var buf [23 + 64 + 4]byte
	n := copy(buf[:], "deai/market/assign/v1\x00")
	n += copy(buf[n:], task[:])
	n += copy(buf[n:], beacon[:])
	for j := range k {
		binary.BigEndian.PutUint32(buf[n:], uint32(j))
		h := sha256.Sum256(buf[:n+4])
		var r uint256.Int
		r.SetBytes32(h[:])
		r.Mod(&r, &total)
		i := 0
		for ; i < len(pool)-1; i++ {
			if r.Lt(&pool[i].Weight) {
				break
			}
			r.Sub(&r, &pool[i].Weight)
		}
		out = append(out, pool[i].Addr)
		total.Sub(&total, &pool[i].Weight)
		pool = slices.Delete(pool, i, i+1)
	}
	return out, nil
}

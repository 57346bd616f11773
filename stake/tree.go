package stake

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"sync"
)

// bucketTree commits to a set of keyed records (accounts or escrows) in a fixed two-level
// 256-ary tree, so that the root after a change costs work proportional to the change, not
// to the state:
//
//	bucket(p) = SHA-256("deai/stake/bucket/v1\x00" ‖ (key ‖ record)…), keys ascending, for
//	            the records whose key starts with the two bytes p; all zeros if none
//	mid(i)    = SHA-256("deai/stake/mid/v1\x00" ‖ bucket(256i) ‖ … ‖ bucket(256i+255))
//	root      = SHA-256("deai/stake/tree/v1\x00" ‖ mid(0) ‖ … ‖ mid(255))
//
// The owner calls touch for every key whose record changed, add and remove when keys come
// and go; root recomputes only what was touched.
type bucketTree[K comparable] struct {
	prefix  func(K) uint16
	cmp     func(a, b K) int
	record  func(b []byte, k K) []byte // appends key ‖ record
	members map[uint16][]K             // sorted
	leaves  [256]*[256][32]byte        // bucket hashes by mid; nil: all empty
	mids    [256][32]byte
	top     [32]byte
	dirty   []uint16     // touched buckets
	marked  [1024]uint64 // bit set of dirty
}

// emptyMid is the mid hash of 256 empty buckets.
var emptyMid = sync.OnceValue(func() [32]byte {
	h := sha256.New()
	h.Write([]byte("deai/stake/mid/v1\x00"))
	h.Write(make([]byte, 256*32))
	var out [32]byte
	h.Sum(out[:0])
	return out
})

func newTree[K comparable](prefix func(K) uint16, cmp func(a, b K) int, record func([]byte, K) []byte) *bucketTree[K] {
	t := &bucketTree[K]{prefix: prefix, cmp: cmp, record: record, members: map[uint16][]K{}}
	for i := range t.mids {
		t.mids[i] = emptyMid()
	}
	t.top = t.hashTop()
	return t
}

func (t *bucketTree[K]) hashTop() [32]byte {
	h := sha256.New()
	h.Write([]byte("deai/stake/tree/v1\x00"))
	for i := range t.mids {
		h.Write(t.mids[i][:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (t *bucketTree[K]) mark(p uint16) {
	if w, bit := p>>6, uint64(1)<<(p&63); t.marked[w]&bit == 0 {
		t.marked[w] |= bit
		t.dirty = append(t.dirty, p)
	}
}

func (t *bucketTree[K]) touch(k K) { t.mark(t.prefix(k)) }

func (t *bucketTree[K]) add(k K) {
	p := t.prefix(k)
	m := t.members[p]
	i, found := slices.BinarySearchFunc(m, k, t.cmp)
	if !found {
		t.members[p] = slices.Insert(m, i, k)
	}
	t.mark(p)
}

func (t *bucketTree[K]) remove(k K) {
	p := t.prefix(k)
	m := t.members[p]
	if i, found := slices.BinarySearchFunc(m, k, t.cmp); found {
		m = slices.Delete(m, i, i+1)
		if len(m) == 0 {
			delete(t.members, p)
		} else {
			t.members[p] = m
		}
	}
	t.mark(p)
}

// root brings the tree up to date and returns its root.
func (t *bucketTree[K]) root() [32]byte {
	if len(t.dirty) == 0 {
		return t.top
	}
	var buf []byte
	var mids [4]uint64
	for _, p := range t.dirty {
		t.marked[p>>6] &^= 1 << (p & 63)
		var h [32]byte
		if m := t.members[p]; len(m) > 0 {
			buf = append(buf[:0], "deai/stake/bucket/v1\x00"...)
			for _, k := range m {
				buf = t.record(buf, k)
			}
			h = sha256.Sum256(buf)
		}
		mid := p >> 8
		if t.leaves[mid] == nil {
			if h == ([32]byte{}) {
				continue // still empty
			}
			t.leaves[mid] = new([256][32]byte)
		}
		t.leaves[mid][p&255] = h
		mids[mid>>6] |= 1 << (mid & 63)
	}
	t.dirty = t.dirty[:0]
	for i := range t.mids {
		if mids[i>>6]&(1<<(i&63)) == 0 {
			continue
		}
		d := sha256.New()
		d.Write([]byte("deai/stake/mid/v1\x00"))
		for j := range t.leaves[i] {
			d.Write(t.leaves[i][j][:])
		}
		d.Sum(t.mids[i][:0])
	}
	t.top = t.hashTop()
	return t.top
}

func cmpAddr(a, b Address) int    { return bytes.Compare(a[:], b[:]) }
func cmpID(a, b [32]byte) int     { return bytes.Compare(a[:], b[:]) }
func prefixAddr(a Address) uint16 { return uint16(a[0])<<8 | uint16(a[1]) }
func prefixID(a [32]byte) uint16  { return uint16(a[0])<<8 | uint16(a[1]) }

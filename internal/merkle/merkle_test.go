package merkle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Independent definitions for hand-computed trees.
func lf(s string) Hash { return Hash(sha256.Sum256(append([]byte{0}, s...))) }

func nd(l, r Hash) Hash {
	return Hash(sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...)))
}

func letters(n int) []Hash {
	hs := make([]Hash, n)
	for i := range hs {
		hs[i] = LeafHash([]byte{byte('a' + i)})
	}
	return hs
}

// TestPinnedHashes pins values computed outside Go (Python's hashlib).
func TestPinnedHashes(t *testing.T) {
	tests := []struct {
		name string
		got  Hash
		want string
	}{
		{"empty root", EmptyRoot, "35824c45b2f7bb3c960880d5cdcfc1fdc02eed3e775951a03104d33d8801c26f"},
		{"leaf of empty data", LeafHash(nil), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
		{"root of a b c", Root(letters(3)), "36642e73c2540ab121e3a6bf9545b0a24982cd830eb13d3cd19de3ce6c021ec1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.String() != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

// TestSmallTrees checks the roots of 0..9 leaves against hand-written shapes.
func TestSmallTrees(t *testing.T) {
	a, b, c, d, e, f, g, h, i := lf("a"), lf("b"), lf("c"), lf("d"), lf("e"), lf("f"), lf("g"), lf("h"), lf("i")
	ab, cd, ef, gh := nd(a, b), nd(c, d), nd(e, f), nd(g, h)
	abcd, efgh := nd(ab, cd), nd(ef, gh)
	want := []Hash{
		0: EmptyRoot,
		1: a,
		2: ab,
		3: nd(ab, c),
		4: abcd,
		5: nd(abcd, e),
		6: nd(abcd, ef),
		7: nd(abcd, nd(ef, g)),
		8: nd(abcd, efgh),
		9: nd(nd(abcd, efgh), i),
	}
	for n, w := range want {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			leaves := letters(n)
			if got := Root(leaves); got != w {
				t.Errorf("Root = %s, want %s", got, w)
			}
			tr := New(leaves)
			if got := tr.Root(); got != w {
				t.Errorf("Tree.Root = %s, want %s", got, w)
			}
			if tr.Len() != n {
				t.Errorf("Len = %d, want %d", tr.Len(), n)
			}
		})
	}
	// Proofs of a few leaves of the 7-leaf tree, by hand.
	tr := New(letters(7))
	proofs := []struct {
		i    int
		sibs []Hash
	}{
		{0, []Hash{b, cd, nd(ef, g)}},
		{3, []Hash{c, ab, nd(ef, g)}},
		{5, []Hash{e, g, abcd}},
		{6, []Hash{ef, abcd}}, // promoted at level 0
	}
	for _, pc := range proofs {
		p, err := tr.Proof(pc.i)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(p.Siblings) != fmt.Sprint(pc.sibs) || p.Index != uint64(pc.i) || p.Size != 7 {
			t.Errorf("proof of %d = %+v, want siblings %v", pc.i, p, pc.sibs)
		}
	}
}

func TestRootDoesNotModify(t *testing.T) {
	leaves := letters(9)
	cp := append([]Hash(nil), leaves...)
	Root(leaves)
	for i := range leaves {
		if leaves[i] != cp[i] {
			t.Fatalf("Root modified leaf %d", i)
		}
	}
}

// TestNoDuplicationAmbiguity: (a, b, c) and (a, b, c, c) differ, unlike
// Bitcoin's tree (CVE-2012-2459).
func TestNoDuplicationAmbiguity(t *testing.T) {
	l := letters(3)
	if Root(l) == Root(append(l, l[2])) {
		t.Fatal("duplicating the last leaf does not change the root")
	}
}

func randomLeaves(r *rand.Rand, n int) []Hash {
	hs := make([]Hash, n)
	for i := range hs {
		for j := 0; j < 32; j += 8 {
			v := r.Uint64()
			for k := 0; k < 8; k++ {
				hs[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	return hs
}

// TestProofProperties: every proof of random trees verifies, and flipping any
// single bit of the leaf, the root, a sibling or the index makes it fail.
func TestProofProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1025}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			leaves := randomLeaves(r, n)
			tr := New(leaves)
			root := tr.Root()
			if root != Root(leaves) {
				t.Fatal("Tree.Root != Root")
			}
			for i := 0; i < n; i++ {
				p, err := tr.Proof(i)
				if err != nil {
					t.Fatal(err)
				}
				if err := Verify(root, leaves[i], p); err != nil {
					t.Fatalf("proof %d: %v", i, err)
				}
				enc, err := p.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				var q Proof
				if err := q.UnmarshalBinary(enc); err != nil {
					t.Fatalf("decode proof %d: %v", i, err)
				}
				if err := Verify(root, leaves[i], q); err != nil {
					t.Fatalf("decoded proof %d: %v", i, err)
				}
				// Exhaustive corruption on small trees, a sample on large ones.
				if n > 40 && i%97 != 0 {
					continue
				}
				for bit := 0; bit < 256; bit++ {
					if Verify(root, flip(leaves[i], bit), p) == nil {
						t.Fatalf("leaf %d with bit %d flipped verifies", i, bit)
					}
					if Verify(flip(root, bit), leaves[i], p) == nil {
						t.Fatalf("root with bit %d flipped verifies for leaf %d", bit, i)
					}
					for s := range p.Siblings {
						q := Proof{Index: p.Index, Size: p.Size, Siblings: append([]Hash(nil), p.Siblings...)}
						q.Siblings[s] = flip(q.Siblings[s], bit)
						if err := Verify(root, leaves[i], q); !errors.Is(err, ErrInvalidProof) {
							t.Fatalf("leaf %d sibling %d bit %d flipped: err = %v", i, s, bit, err)
						}
					}
				}
				for bit := 0; bit < 64; bit++ {
					q := p
					q.Index ^= 1 << bit
					if err := Verify(root, leaves[i], q); !errors.Is(err, ErrInvalidProof) {
						t.Fatalf("leaf %d index bit %d flipped: err = %v", i, bit, err)
					}
				}
			}
		})
	}
}

func flip(h Hash, bit int) Hash {
	h[bit/8] ^= 1 << (bit % 8)
	return h
}

// TestSizeNotBound documents the limit stated in the package documentation:
// Verify cannot tell some sizes apart, so Size must come from the commitment.
func TestSizeNotBound(t *testing.T) {
	leaves := letters(5)
	p, _ := New(leaves).Proof(0)
	p.Size = 6
	if err := Verify(Root(leaves), leaves[0], p); err != nil {
		t.Fatalf("leaf 0 of 5 as leaf 0 of 6: %v; if this now fails, update the package documentation", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	leaves := letters(9)
	tr := New(leaves)
	root := tr.Root()
	good, _ := tr.Proof(4)
	tests := []struct {
		name string
		leaf Hash
		p    Proof
	}{
		{"size zero", leaves[4], Proof{Index: 0, Size: 0}},
		{"size too large", leaves[4], Proof{Index: 4, Size: MaxSize + 1, Siblings: good.Siblings}},
		{"index equals size", leaves[4], Proof{Index: 9, Size: 9, Siblings: good.Siblings}},
		{"index huge", leaves[4], Proof{Index: 1 << 63, Size: 9, Siblings: good.Siblings}},
		{"too few siblings", leaves[4], Proof{Index: 4, Size: 9, Siblings: good.Siblings[:2]}},
		{"too many siblings", leaves[4], Proof{Index: 4, Size: 9, Siblings: append(append([]Hash(nil), good.Siblings...), Hash{})}},
		{"no siblings", leaves[4], Proof{Index: 4, Size: 9}},
		{"wrong leaf", leaves[5], good},
		{"wrong index same length", leaves[4], Proof{Index: 5, Size: 9, Siblings: good.Siblings}},
		{"wrong size", leaves[4], Proof{Index: 4, Size: 8, Siblings: good.Siblings}},
		{"swapped siblings", leaves[4], Proof{Index: 4, Size: 9, Siblings: []Hash{good.Siblings[1], good.Siblings[0], good.Siblings[2], good.Siblings[3]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(root, tt.leaf, tt.p)
			if !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("err = %v, want ErrInvalidProof", err)
			}
			t.Log(err)
		})
	}
	if _, err := tr.Proof(9); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("Proof(9): err = %v", err)
	}
	if _, err := tr.Proof(-1); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("Proof(-1): err = %v", err)
	}
	if _, err := New(nil).Proof(0); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("empty tree Proof(0): err = %v", err)
	}
}

func TestProofEncoding(t *testing.T) {
	p, _ := New(letters(3)).Proof(2)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// index 2, size 3, one sibling.
	head := []byte{2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1}
	if string(b[:17]) != string(head) || len(b) != 17+32 {
		t.Fatalf("encoding %x", b)
	}
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", b[:16]},
		{"truncated sibling", b[:len(b)-1]},
		{"trailing byte", mut(func(x []byte) []byte { return append(x, 0) })},
		{"count over 64", mut(func(x []byte) []byte { x[16] = 65; return x })},
		{"count disagrees", mut(func(x []byte) []byte { x[16] = 0; return x[:17] })},
		{"size zero", mut(func(x []byte) []byte { x[8] = 0; return x })},
		{"size over 2^40", mut(func(x []byte) []byte { x[13] = 1; return x })},
		{"index out of range", mut(func(x []byte) []byte { x[0] = 3; return x })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Proof{Index: 7}
			err := q.UnmarshalBinary(tt.b)
			if !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("err = %v, want ErrInvalidProof", err)
			}
			if q.Index != 7 || q.Siblings != nil {
				t.Fatalf("proof modified on error: %+v", q)
			}
		})
	}
	if _, err := (Proof{Index: 0, Size: 3}).MarshalBinary(); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("MarshalBinary of an inconsistent proof: err = %v", err)
	}
}

func TestLargestProof(t *testing.T) {
	p := Proof{Index: MaxSize - 2, Size: MaxSize, Siblings: make([]Hash, 40)}
	if err := p.check(); err != nil {
		t.Fatal(err)
	}
	b, err := p.MarshalBinary()
	if err != nil || len(b) != 17+40*32 {
		t.Fatalf("len %d, err %v", len(b), err)
	}
}

// FuzzProof decodes arbitrary bytes as a proof and verifies it against a
// fixed tree: nothing may panic, every accepted encoding is canonical, and a
// decoded proof verifies only if it equals the tree's own proof.
func FuzzProof(f *testing.F) {
	leaves := letters(11)
	tr := New(leaves)
	root := tr.Root()
	for _, i := range []int{0, 5, 10} {
		p, _ := tr.Proof(i)
		b, _ := p.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 17))
	f.Add(append(make([]byte, 16), 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Proof
		if err := p.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("error %v does not wrap ErrInvalidProof", err)
			}
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded proof does not encode: %v", err)
		}
		if string(out) != string(b) {
			t.Fatalf("non-canonical encoding accepted: %x -> %x", b, out)
		}
		if p.Size != 11 {
			return
		}
		err = Verify(root, leaves[p.Index], p)
		want, _ := tr.Proof(int(p.Index))
		if same := fmt.Sprint(want.Siblings) == fmt.Sprint(p.Siblings); (err == nil) != same {
			t.Fatalf("Verify = %v, but proof equals the tree's: %v", err, same)
		}
	})
}

func BenchmarkRoot65536(b *testing.B) {
	leaves := randomLeaves(rand.New(rand.NewPCG(3, 4)), 1<<16)
	b.SetBytes(32 << 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Root(leaves)
	}
}

func BenchmarkNew65536(b *testing.B) {
	leaves := randomLeaves(rand.New(rand.NewPCG(3, 4)), 1<<16)
	b.SetBytes(32 << 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		New(leaves)
	}
}

// BenchmarkLeafHash hashes one Fashion-MNIST-sized sample encoding.
func BenchmarkLeafHash(b *testing.B) {
	data := make([]byte, 3166)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		LeafHash(data)
	}
}

func BenchmarkVerify(b *testing.B) {
	leaves := randomLeaves(rand.New(rand.NewPCG(3, 4)), 1<<16)
	tr := New(leaves)
	root := tr.Root()
	p, _ := tr.Proof(12345)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Verify(root, leaves[12345], p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRootInPlace(t *testing.T) {
	for n := range 40 {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = LeafHash([]byte{byte(i), byte(n)})
		}
		want := Root(leaves)
		if got := RootInPlace(append([]Hash(nil), leaves...)); got != want {
			t.Fatalf("%d leaves: RootInPlace %s, Root %s", n, got, want)
		}
	}
}

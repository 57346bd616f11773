package chain

import (
	"bytes"
	"errors"
	"testing"
)

func testKey(t testing.TB, seed string) Address {
	t.Helper()
	k, err := KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return KeyAddress(k)
}

func TestSignRecover(t *testing.T) {
	k, err := KeyFromSeed("alice")
	if err != nil {
		t.Fatal(err)
	}
	tx := Tx{ChainID: 7, Nonce: 3, Machine: "stake", Payload: []byte{1, 2, 3}}
	s, err := Sign(tx, k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Sender()
	if err != nil || got != KeyAddress(k) {
		t.Fatalf("Sender = %s, %v; want %s", got, err, KeyAddress(k))
	}
	d, err := DecodeTx(s.Encode())
	if err != nil || d.Hash() != s.Hash() || !bytes.Equal(d.Payload, tx.Payload) {
		t.Fatalf("round trip: %+v %v", d, err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*SignedTx)
		want error // nil: recovers some other address
	}{
		{"payload", func(s *SignedTx) { s.Payload = []byte{1, 2, 4} }, nil},
		{"chain id", func(s *SignedTx) { s.ChainID = 8 }, nil},
		{"nonce", func(s *SignedTx) { s.Nonce = 4 }, nil},
		{"v", func(s *SignedTx) { s.Sig[64] = 2 }, ErrBadSignature},
		{"zero r", func(s *SignedTx) { clear(s.Sig[:32]) }, ErrBadSignature},
		{"high s", func(s *SignedTx) { s.Sig[32] = 0xff }, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := s
			m.Payload = bytes.Clone(s.Payload)
			tc.mod(&m)
			a, err := m.Sender()
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Sender = %s, %v; want %v", a, err, tc.want)
				}
				return
			}
			if err == nil && a == KeyAddress(k) {
				t.Fatal("a modified transaction still recovers the signer")
			}
		})
	}
}

func TestKnownAddress(t *testing.T) {
	// The Ethereum address of private key 1 is well known.
	k, err := KeyFromSeed("x")
	if err != nil {
		t.Fatal(err)
	}
	k.D.SetInt64(1)
	k.PublicKey.X, k.PublicKey.Y = k.Curve.ScalarBaseMult([]byte{1})
	if got := KeyAddress(k).String(); got != "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf" {
		t.Fatalf("address of key 1: %s", got)
	}
	if testKey(t, "a") == testKey(t, "b") {
		t.Fatal("different seeds, same key")
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{ChainID: 1, Height: 2, Time: 3, Parent: Hash{4}, TxRoot: Hash{5}, ResultRoot: Hash{6}, StateRoot: Hash{7}}
	d, err := DecodeHeader(h.Encode())
	if err != nil || d != h {
		t.Fatalf("round trip: %+v %v", d, err)
	}
	if _, err := DecodeHeader(h.Encode()[1:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short header: %v", err)
	}
}

// FuzzDecodeTx: the decoder never panics, and what it accepts re-encodes to the same bytes.
func FuzzDecodeTx(f *testing.F) {
	k, err := KeyFromSeed("fuzz")
	if err != nil {
		f.Fatal(err)
	}
	s, err := Sign(Tx{ChainID: 1, Nonce: 2, Machine: "stake", Payload: []byte{1, 1, 9}}, k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeTx(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("accepted a non-canonical encoding")
		}
		s.Sender() // must not panic
	})
}

func BenchmarkSender(b *testing.B) {
	k, err := KeyFromSeed("bench")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Sign(Tx{ChainID: 1, Machine: "stake", Payload: make([]byte, 54)}, k)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Sender(); err != nil {
			b.Fatal(err)
		}
	}
}

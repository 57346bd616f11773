package embedded

import (
	"errors"
	"testing"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/chaintest"
	"github.com/deai-go/deai/chain/sm"
)

// FuzzDecodeBlock: a corrupted store never panics the decoder; every failure is ErrCorrupt,
// and whatever decodes re-encodes to the same bytes.
func FuzzDecodeBlock(f *testing.F) {
	c, err := Open(Config{Machines: []sm.Machine{newLedger(f, chaintest.Genesis())}})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	keys := chaintest.Keys()
	for i := range 3 {
		for j, k := range keys {
			tx, _ := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: uint64(i), Machine: "stake", Payload: []byte{1, 2, byte(j), 0}}, k)
			if _, err := c.Submit(f.Context(), tx); err != nil {
				f.Fatal(err)
			}
		}
		hdr, err := c.Commit(f.Context())
		if err != nil {
			f.Fatal(err)
		}
		enc, _ := c.st.block(hdr.Height)
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := decodeBlock(b)
		if err != nil {
			if !errors.Is(err, chain.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if got := encodeBlock(&blk.Header, blk.Txs, blk.Receipts); string(got) != string(b) {
			t.Fatal("decoded block re-encodes differently")
		}
	})
}

// FuzzDecodeSnapshot: a corrupted snapshot never panics the decoder.
func FuzzDecodeSnapshot(f *testing.F) {
	l := newLedger(f, chaintest.Genesis())
	snap, err := encodeSnapshot(3, []chain.Address{{1}, {2}}, map[chain.Address]uint64{{1}: 4, {2}: 9}, []string{"stake"}, map[string]sm.Machine{"stake": l})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeSnapshot(b); err != nil && !errors.Is(err, chain.ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	})
}

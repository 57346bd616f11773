package labeling

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/stake"
)

var verbose = flag.Bool("labeling.verbose", false, "log every refused transaction of TestRandomConservation")

var sequences = flag.Int("labeling.sequences", 300, "random operation sequences in TestRandomConservation (the issue's figure: 100000)")

// TestRandomConservation drives the machine with random transactions, most of them plausible
// and many of them wrong (wrong sender, wrong phase, out-of-range fields, too little money),
// and checks after every one that a failure changed nothing and that In = Paid + Refunded +
// Burned + Fees + Held exactly, agreeing with the ledger's escrows (world.apply).
//
// Rationale: tokens reach a campaign only through its vault and bond escrows and leave only
// as claims, refunds, burns and fees; if any path paid twice, skipped a fee or left tokens
// behind in the machine's account, the equation or the escrow comparison would break.
func TestRandomConservation(t *testing.T) {
	n := *sequences
	ok := map[string]int{}
	total := 0
	for seq := range n {
		total += randomSequence(t, uint64(seq), ok)
	}
	t.Logf("%d sequences, %d transactions, succeeded: %v", n, total, ok)
	for _, kind := range txNames[1:] {
		if ok[kind] == 0 {
			t.Errorf("no %s ever succeeded: the generator does not reach it", kind)
		}
	}
}

func randomSequence(t *testing.T, seed uint64, ok map[string]int) int {
	return randomSequenceFrom(t, rand.New(rand.NewPCG(seed, 0x1abe1)), fmt.Sprintf("seed %d", seed), ok)
}

// randomSequenceFrom is randomSequence drawing from r; name names the sequence in failures.
func randomSequenceFrom(t *testing.T, r *rand.Rand, name string, ok map[string]int) int {
	w := newWorld(t, Config{ClaimWindow: 50, GuildCost: amt(50)}, uint32(r.IntN(3)*50), 5_000, []byte{tagClient, tagWorker, tagValid}, 4)
	who := func() stake.Address {
		switch r.IntN(8) {
		case 0:
			return admin
		case 1:
			return addr(tagClient, r.IntN(4))
		case 2, 3:
			return addr(tagValid, r.IntN(4))
		default:
			return addr(tagWorker, r.IntN(4))
		}
	}
	rare := func() int { // usually 0, sometimes 1
		if r.IntN(8) == 0 {
			return 1
		}
		return 0
	}
	campaigns := func() uint64 { return uint64(rare() + r.IntN(3)) }
	for i := range 3 { // most workers start with a word
		w.apply(admin, MintWord{Word: uint32(i), To: addr(tagWorker, i)})
	}
	for n := range 60 {
		var tx Tx
		sender := who()
		worker := addr(tagWorker, r.IntN(4))
		if rare() == 0 {
			sender = worker // the role-typed transactions below mostly come from the right role
		}
		k := r.IntN(20)
		if n < 2 || n == 2 && r.IntN(2) == 0 {
			k = 4 // campaigns early
		}
		if n == 3 { // then most participants join the first two
			for c := uint64(1); c <= 2; c++ {
				for i := range 4 {
					w.apply(addr(tagWorker, i), Join{Campaign: c})
					w.apply(addr(tagValid, i), Join{Campaign: c, Validator: true})
				}
			}
		}
		switch {
		case k == 0:
			if r.IntN(2) == 0 {
				tx = MintWord{Word: uint32(r.IntN(6)), To: addr(tagWorker, r.IntN(4))}
			} else {
				tx = TransferWord{Word: uint32(r.IntN(6)), To: addr(tagWorker, r.IntN(4))}
			}
		case k == 1:
			tx = CreateGuild{CutBps: uint32(r.IntN(10000) + 2000*rare())}
		case k == 2:
			tx = AddMember{Guild: uint32(r.IntN(3)), Member: addr(tagWorker, r.IntN(4))}
		case k == 3:
			tx = DepositWord{Guild: uint32(1 + rare()), Word: uint32(worker[19])}
		case k == 4:
			var gold []GoldItem
			for i := range r.IntN(2) + rare() {
				gold = append(gold, GoldItem{Item: uint32(i), Class: uint8(r.IntN(2) + rare())})
			}
			var words []WordUse
			if rare() == 1 {
				words = []WordUse{{Word: uint32(r.IntN(6)), Weight: 1 + uint32(r.IntN(3))}}
			}
			tx = CreateCampaign{Items: uint32(1 + r.IntN(8) - rare()), Classes: uint8(2 + r.IntN(2) - rare()),
				LabelsPerItem: uint8(1 + r.IntN(3) - rare()), Quorum: uint8(r.IntN(3)),
				Reward: amt(uint64(1 + r.IntN(40) - rare())), ValidatorReward: amt(uint64(r.IntN(10))),
				HolderReward: amt(uint64(r.IntN(50) * rare())), WorkerBond: amt(uint64(r.IntN(200))), ValidatorBond: amt(uint64(r.IntN(200))),
				Duration: uint64(1 + r.IntN(80)), Words: words, Gold: gold}
		case k <= 7:
			v := r.IntN(3) == 0
			if v && rare() == 0 {
				sender = addr(tagValid, r.IntN(4))
			}
			tx = Join{Campaign: campaigns(), Validator: v, Guild: uint32(r.IntN(2) * rare())}
		case k <= 11:
			tx = Submit{Campaign: campaigns(), Item: uint32(r.IntN(4) + 4*rare()), Class: uint8(r.IntN(2) + rare())}
		case k <= 13:
			if rare() == 0 {
				sender = addr(tagValid, r.IntN(4))
			}
			tx = Vote{Campaign: campaigns(), Worker: worker, Item: uint32(r.IntN(4)), Approve: r.IntN(2) == 0}
		case k <= 15:
			tx = Finalize{Campaign: campaigns()}
		case k <= 18:
			tx = Claim{Campaign: campaigns()}
		default:
			tx = BurnUnclaimed{Campaign: campaigns()}
		}
		if _, err := w.apply(sender, tx); err == nil {
			ok[txNames[tx.code()]]++
		} else if *verbose {
			t.Log(err)
		}
		w.now += uint64(r.IntN(4))
	}
	// Round trip the final state through Export and Import.
	st, _ := w.m.Export()
	m2, _ := New(w.m.Config(), w.ledger)
	if err := m2.Import(st); err != nil {
		t.Fatalf("%s: import: %v", name, err)
	}
	st2, _ := m2.Export()
	if !bytes.Equal(st, st2) || m2.Root() != w.m.Root() {
		t.Fatalf("%s: state differs after Import", name)
	}
	return 63
}

func FuzzDecodeTx(f *testing.F) {
	for _, tx := range []Tx{
		MintWord{Word: 1, To: admin}, TransferWord{Word: 2, To: self}, CreateGuild{CutBps: 500},
		AddMember{Guild: 1, Member: admin}, DepositWord{Guild: 1, Word: 2},
		CreateCampaign{Items: 3, Classes: 2, LabelsPerItem: 1, Reward: amt(5), Duration: 9,
			Words: []WordUse{{1, 2}}, Gold: []GoldItem{{0, 1}}},
		Join{Campaign: 1, Validator: true}, Submit{Campaign: 1, Item: 2, Class: 1},
		Vote{Campaign: 1, Worker: admin, Item: 3, Approve: true}, Finalize{Campaign: 1}, Claim{Campaign: 2},
		BurnUnclaimed{Campaign: 3},
	} {
		b, err := EncodeTx(tx)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		again, err := EncodeTx(tx)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", tx, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("not canonical: %x decodes to %+v, which encodes to %x", b, tx, again)
		}
	})
}

func FuzzImport(f *testing.F) {
	w := smallCampaign(f)
	st, _ := w.m.Export()
	f.Add(st)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := New(w.m.Config(), w.ledger)
		before := m.Root()
		if err := m.Import(b); err != nil {
			if m.Root() != before {
				t.Fatal("failed Import changed the state")
			}
			return
		}
		again, _ := m.Export()
		if !bytes.Equal(again, b) {
			t.Fatal("Import accepted a non-canonical state")
		}
	})
}

// byteSource is a rand.Source that reads the fuzzer's bytes, eight at a time, and then a
// fixed PCG stream (a constant source would make rand's rejection sampling loop forever).
type byteSource struct {
	b    []byte
	rest rand.PCG
}

func (s *byteSource) Uint64() uint64 {
	if len(s.b) == 0 {
		return s.rest.Uint64()
	}
	var x uint64
	for i := 0; i < 8 && len(s.b) > 0; i++ {
		x = x<<8 | uint64(s.b[0])
		s.b = s.b[1:]
	}
	return x
}

// FuzzApplyTx drives the machine with the transaction sequences of TestRandomConservation,
// its choices read from the fuzzer's bytes: after every transaction, a failure must have
// changed neither the machine nor the ledger, and the token accounting must balance against
// the ledger's escrows (world.apply).
func FuzzApplyTx(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("a campaign, joins, labels, finalize and claims"))
	for seed := range uint64(4) {
		b := make([]byte, 256)
		r := rand.New(rand.NewPCG(seed, 7))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		randomSequenceFrom(t, rand.New(&byteSource{b: b, rest: *rand.NewPCG(1, 2)}), "fuzz input", map[string]int{})
	})
}

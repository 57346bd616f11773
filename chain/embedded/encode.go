package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/sm"
)

// Block is a block as the embedded chain stores it.
type Block struct {
	Header   chain.Header
	Txs      []chain.SignedTx
	Receipts []chain.Receipt
}

// appendReceipt appends status u8 ‖ u16 n ‖ reason ‖ u32 m ‖ m × (u8 n ‖ kind ‖ u32 n ‖ data).
// Events take the transaction's machine name.
func appendReceipt(b []byte, r *chain.Receipt) []byte {
	b = append(b, byte(r.Status))
	reason := r.Reason
	if len(reason) > 0xffff {
		reason = reason[:0xffff]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(reason)))
	b = append(b, reason...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Events)))
	for _, e := range r.Events {
		b = append(b, byte(len(e.Kind)))
		b = append(b, e.Kind...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

// resultRoot is SHA-256("deai/chain/results/v1\x00" ‖ receipt…).
func resultRoot(rs []chain.Receipt) chain.Hash {
	h := sha256.New()
	h.Write([]byte("deai/chain/results/v1\x00"))
	var buf []byte
	for i := range rs {
		buf = appendReceipt(buf[:0], &rs[i])
		h.Write(buf)
	}
	var out chain.Hash
	h.Sum(out[:0])
	return out
}

// txRoot is SHA-256("deai/chain/txs/v1\x00" ‖ tx hash…).
func txRoot(hashes []chain.Hash) chain.Hash {
	h := sha256.New()
	h.Write([]byte("deai/chain/txs/v1\x00"))
	for i := range hashes {
		h.Write(hashes[i][:])
	}
	var out chain.Hash
	h.Sum(out[:0])
	return out
}

// encodeBlock writes header ‖ u32 n ‖ n × (sender ‖ u32 n ‖ tx ‖ u32 n ‖ receipt).
func encodeBlock(h *chain.Header, txs []chain.SignedTx, rs []chain.Receipt) []byte {
	b := h.Encode()
	b = binary.BigEndian.AppendUint32(b, uint32(len(txs)))
	for i := range txs {
		b = append(b, rs[i].Sender[:]...)
		enc := txs[i].Encode()
		b = binary.BigEndian.AppendUint32(b, uint32(len(enc)))
		b = append(b, enc...)
		n := len(b)
		b = append(b, 0, 0, 0, 0)
		b = appendReceipt(b, &rs[i])
		binary.BigEndian.PutUint32(b[n:], uint32(len(b)-n-4))
	}
	return b
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.err = fmt.Errorf("%w: truncated block", chain.ErrCorrupt)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() int {
	if v := d.take(2); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (d *decoder) u32() int {
	if v := d.take(4); v != nil {
		return int(binary.BigEndian.Uint32(v))
	}
	return 0
}

// decodeBlock decodes encodeBlock's encoding.
func decodeBlock(b []byte) (*Block, error) {
	d := &decoder{b: b}
	h, err := chain.DecodeHeader(d.take(153))
	if d.err != nil {
		return nil, d.err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", chain.ErrCorrupt, err)
	}
	blk := &Block{Header: h}
	n := d.u32()
	if d.err == nil && n > len(d.b)/30 {
		return nil, fmt.Errorf("%w: %d transactions in %d bytes", chain.ErrCorrupt, n, len(d.b))
	}
	blk.Txs = make([]chain.SignedTx, 0, n)
	blk.Receipts = make([]chain.Receipt, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var r chain.Receipt
		copy(r.Sender[:], d.take(20))
		tx, err := chain.DecodeTx(d.take(d.u32()))
		if d.err != nil {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", chain.ErrCorrupt, err)
		}
		rd := &decoder{b: d.take(d.u32())}
		r.Tx = tx.Hash()
		r.Height = h.Height
		r.Index = uint32(i)
		r.Status = chain.Status(rd.u8())
		r.Reason = string(rd.take(rd.u16()))
		ne := rd.u32()
		if rd.err == nil && ne > len(rd.b)/5 {
			return nil, fmt.Errorf("%w: %d events in %d bytes", chain.ErrCorrupt, ne, len(rd.b))
		}
		for j := 0; j < ne && rd.err == nil; j++ {
			kind := string(rd.take(int(rd.u8())))
			data := bytes.Clone(rd.take(rd.u32()))
			r.Events = append(r.Events, chain.Event{Height: h.Height, TxIndex: uint32(i), Tx: r.Tx, Machine: tx.Machine, Kind: kind, Data: data})
		}
		if rd.err == nil && len(rd.b) != 0 {
			rd.err = fmt.Errorf("%w: trailing receipt bytes", chain.ErrCorrupt)
		}
		if rd.err != nil {
			return nil, rd.err
		}
		blk.Txs = append(blk.Txs, tx)
		blk.Receipts = append(blk.Receipts, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: trailing block bytes", chain.ErrCorrupt)
	}
	if d.err != nil {
		return nil, d.err
	}
	return blk, nil
}

// stateRoot is SHA-256("deai/chain/state/v1\x00" ‖ nonceRoot ‖ (u8 n ‖ name ‖ root)…) over the
// machines by name, with nonceRoot = SHA-256("deai/chain/nonces/v1\x00" ‖ (addr ‖ u64)…)
// over the senders by address.
func stateRoot(senders []chain.Address, nonces map[chain.Address]uint64, names []string, machines map[string]sm.Machine) chain.Hash {
	nh := sha256.New()
	nh.Write([]byte("deai/chain/nonces/v1\x00"))
	var buf [28]byte
	for _, a := range senders {
		copy(buf[:], a[:])
		binary.BigEndian.PutUint64(buf[20:], nonces[a])
		nh.Write(buf[:])
	}
	h := sha256.New()
	h.Write([]byte("deai/chain/state/v1\x00"))
	h.Write(nh.Sum(nil))
	for _, n := range names {
		h.Write([]byte{byte(len(n))})
		h.Write([]byte(n))
		r := machines[n].Root()
		h.Write(r[:])
	}
	var out chain.Hash
	h.Sum(out[:0])
	return out
}

// encodeSnapshot writes height u64 ‖ u32 n ‖ n × (addr ‖ nonce u64) ‖ u32 m ‖
// m × (u8 n ‖ name ‖ u32 n ‖ export).
func encodeSnapshot(height uint64, senders []chain.Address, nonces map[chain.Address]uint64, names []string, machines map[string]sm.Machine) ([]byte, error) {
	b := binary.BigEndian.AppendUint64(nil, height)
	b = binary.BigEndian.AppendUint32(b, uint32(len(senders)))
	for _, a := range senders {
		b = append(b, a[:]...)
		b = binary.BigEndian.AppendUint64(b, nonces[a])
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, n := range names {
		exp, err := machines[n].Export()
		if err != nil {
			return nil, fmt.Errorf("embedded: export %s: %w", n, err)
		}
		b = append(b, byte(len(n)))
		b = append(b, n...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(exp)))
		b = append(b, exp...)
	}
	return b, nil
}

type snapshot struct {
	height  uint64
	senders []chain.Address
	nonces  map[chain.Address]uint64
	exports map[string][]byte
}

func decodeSnapshot(b []byte) (*snapshot, error) {
	d := &decoder{b: b}
	s := &snapshot{nonces: map[chain.Address]uint64{}, exports: map[string][]byte{}}
	if v := d.take(8); v != nil {
		s.height = binary.BigEndian.Uint64(v)
	}
	n := d.u32()
	if d.err == nil && n > len(d.b)/28 {
		return nil, fmt.Errorf("%w: snapshot nonce count %d", chain.ErrCorrupt, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		var a chain.Address
		copy(a[:], d.take(20))
		if v := d.take(8); v != nil {
			s.nonces[a] = binary.BigEndian.Uint64(v)
		}
		s.senders = append(s.senders, a)
	}
	m := d.u32()
	for i := 0; i < m && d.err == nil; i++ {
		name := string(d.take(int(d.u8())))
		s.exports[name] = d.take(d.u32())
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: trailing snapshot bytes", chain.ErrCorrupt)
	}
	if d.err != nil {
		return nil, d.err
	}
	if !slices.IsSortedFunc(s.senders, func(x, y chain.Address) int { return bytes.Compare(x[:], y[:]) }) {
		return nil, fmt.Errorf("%w: snapshot senders unsorted", chain.ErrCorrupt)
	}
	return s, nil
}

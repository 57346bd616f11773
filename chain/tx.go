package chain

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/deai-go/deai/chain/sm"
	"github.com/ethereum/go-ethereum/crypto"
)

// MaxPayload bounds a transaction's payload.
const MaxPayload = 1 << 20

// Tx is an unsigned transaction: a payload for one machine, bound to a chain and a nonce.
type Tx struct {
	ChainID uint64
	// Nonce is the sender's transaction count: 0 for its first, then 1, 2, … with no gaps.
	Nonce uint64
	// Machine is the sm.Machine name the payload is for.
	Machine string
	// Payload is the machine's transaction encoding.
	Payload []byte
}

// SignedTx is a transaction with its secp256k1 signature R ‖ S ‖ V (V is 0 or 1, S in the
// lower half of the curve order) over SigningHash.
type SignedTx struct {
	Tx
	Sig [65]byte
}

const (
	txVersion     = 1
	headerVersion = 1
)

func (t *Tx) appendUnsigned(b []byte) []byte {
	b = append(b, txVersion)
	b = binary.BigEndian.AppendUint64(b, t.ChainID)
	b = binary.BigEndian.AppendUint64(b, t.Nonce)
	b = append(b, byte(len(t.Machine)))
	b = append(b, t.Machine...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(t.Payload)))
	return append(b, t.Payload...)
}

// Validate checks the machine name and payload size.
func (t *Tx) Validate() error {
	if !sm.ValidName(t.Machine) {
		return fmt.Errorf("%w: machine name %q", ErrMalformed, t.Machine)
	}
	if len(t.Payload) > MaxPayload {
		return fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrMalformed, len(t.Payload), MaxPayload)
	}
	return nil
}

// SigningHash returns SHA-256("deai/chain/tx/v1\x00" ‖ unsigned encoding), what the sender
// signs.
func (t *Tx) SigningHash() Hash {
	h := sha256.New()
	h.Write([]byte("deai/chain/tx/v1\x00"))
	h.Write(t.appendUnsigned(make([]byte, 0, 64+len(t.Payload))))
	var out Hash
	h.Sum(out[:0])
	return out
}

// Encode returns the canonical encoding: the unsigned encoding followed by the signature.
func (s *SignedTx) Encode() []byte {
	b := s.appendUnsigned(make([]byte, 0, 22+len(s.Machine)+4+len(s.Payload)+65))
	return append(b, s.Sig[:]...)
}

// Hash returns the transaction's identifier, SHA-256("deai/chain/txid/v1\x00" ‖ Encode()).
func (s *SignedTx) Hash() Hash {
	h := sha256.New()
	h.Write([]byte("deai/chain/txid/v1\x00"))
	h.Write(s.Encode())
	var out Hash
	h.Sum(out[:0])
	return out
}

// DecodeTx decodes Encode's encoding; it accepts nothing else (ErrMalformed).
func DecodeTx(b []byte) (SignedTx, error) {
	var s SignedTx
	if len(b) < 1+8+8+1 {
		return s, fmt.Errorf("%w: transaction of %d bytes", ErrMalformed, len(b))
	}
	if b[0] != txVersion {
		return s, fmt.Errorf("%w: transaction version %d", ErrMalformed, b[0])
	}
	s.ChainID = binary.BigEndian.Uint64(b[1:])
	s.Nonce = binary.BigEndian.Uint64(b[9:])
	n := int(b[17])
	b = b[18:]
	if len(b) < n+4 {
		return s, fmt.Errorf("%w: truncated transaction", ErrMalformed)
	}
	s.Machine = string(b[:n])
	p := binary.BigEndian.Uint32(b[n:])
	b = b[n+4:]
	if uint64(len(b)) != uint64(p)+65 {
		return SignedTx{}, fmt.Errorf("%w: payload length %d with %d bytes left", ErrMalformed, p, len(b))
	}
	s.Payload = bytes.Clone(b[:p])
	copy(s.Sig[:], b[p:])
	if err := s.Validate(); err != nil {
		return SignedTx{}, err
	}
	return s, nil
}

// halfN is half the secp256k1 group order: signatures with a larger S are malleable copies
// and are rejected.
var halfN = [32]byte{
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
}

// Sign signs tx with key.
func Sign(tx Tx, key *ecdsa.PrivateKey) (SignedTx, error) {
	if err := tx.Validate(); err != nil {
		return SignedTx{}, err
	}
	h := tx.SigningHash()
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		return SignedTx{}, fmt.Errorf("chain: sign: %w", err)
	}
	s := SignedTx{Tx: tx}
	copy(s.Sig[:], sig)
	return s, nil
}

// Sender recovers the signer's address; a signature that is invalid, malleable (high S) or
// not over this transaction fails with ErrBadSignature.
func (s *SignedTx) Sender() (Address, error) {
	if v := s.Sig[64]; v > 1 {
		return Address{}, fmt.Errorf("%w: v = %d", ErrBadSignature, v)
	}
	if bytes.Compare(s.Sig[32:64], halfN[:]) > 0 {
		return Address{}, fmt.Errorf("%w: high s", ErrBadSignature)
	}
	h := s.SigningHash()
	pub, err := crypto.Ecrecover(h[:], s.Sig[:])
	if err != nil {
		return Address{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	var a Address
	copy(a[:], crypto.Keccak256(pub[1:])[12:])
	return a, nil
}

// KeyAddress returns the address of key's public key.
func KeyAddress(key *ecdsa.PrivateKey) Address { return Address(crypto.PubkeyToAddress(key.PublicKey)) }

// KeyFromSeed derives a private key deterministically from seed (SHA-256 of the seed as the
// scalar): for tests and devnets, never for real funds.
func KeyFromSeed(seed string) (*ecdsa.PrivateKey, error) {
	d := sha256.Sum256([]byte("deai/chain/testkey/v1\x00" + seed))
	k, err := crypto.ToECDSA(d[:])
	if err != nil {
		return nil, fmt.Errorf("chain: key from seed %q: %w", seed, err)
	}
	return k, nil
}

// Encode returns the header's canonical encoding:
// 0x01 ‖ chainID u64 ‖ height u64 ‖ time u64 ‖ parent ‖ txRoot ‖ resultRoot ‖ stateRoot.
func (h *Header) Encode() []byte {
	b := make([]byte, 0, 1+24+128)
	b = append(b, headerVersion)
	b = binary.BigEndian.AppendUint64(b, h.ChainID)
	b = binary.BigEndian.AppendUint64(b, h.Height)
	b = binary.BigEndian.AppendUint64(b, h.Time)
	b = append(b, h.Parent[:]...)
	b = append(b, h.TxRoot[:]...)
	b = append(b, h.ResultRoot[:]...)
	return append(b, h.StateRoot[:]...)
}

// DecodeHeader decodes Header.Encode's encoding.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) != 1+24+128 || b[0] != headerVersion {
		return h, fmt.Errorf("%w: header of %d bytes", ErrMalformed, len(b))
	}
	h.ChainID = binary.BigEndian.Uint64(b[1:])
	h.Height = binary.BigEndian.Uint64(b[9:])
	h.Time = binary.BigEndian.Uint64(b[17:])
	copy(h.Parent[:], b[25:])
	copy(h.TxRoot[:], b[57:])
	copy(h.ResultRoot[:], b[89:])
	copy(h.StateRoot[:], b[121:])
	return h, nil
}

// Hash returns SHA-256("deai/chain/header/v1\x00" ‖ Encode()): the block's identity and its
// beacon value.
func (h *Header) Hash() Hash {
	d := sha256.New()
	d.Write([]byte("deai/chain/header/v1\x00"))
	d.Write(h.Encode())
	var out Hash
	d.Sum(out[:0])
	return out
}

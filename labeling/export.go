package labeling

import (
	"bytes"
	"crypto/sha256"
	"slices"

	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Export encodes the whole state canonically (see the package documentation).
func (m *Machine) Export() ([]byte, error) { return m.export(), nil }

func (m *Machine) export() []byte {
	b := []byte{encVersion}
	t := &m.totals
	for _, x := range []*uint256.Int{&t.In, &t.Paid, &t.Refunded, &t.Burned, &t.Fees, &t.Held} {
		b = appendAmt(b, x)
	}
	ids := make([]uint32, 0, len(m.words))
	for id := range m.words {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = appendU32(b, uint32(len(ids)))
	for _, id := range ids {
		w := m.words[id]
		b = appendU32(append(appendU32(b, id), w.owner[:]...), w.guild)
	}
	b = appendU32(b, uint32(len(m.guilds)))
	for _, g := range m.guilds {
		b = appendU32(appendU32(append(b, g.owner[:]...), g.cutBps), g.words)
		b = appendU32(b, uint32(len(g.members)))
		for _, a := range g.members {
			b = append(b, a[:]...)
		}
	}
	b = appendU32(b, uint32(len(m.campaigns)))
	for _, c := range m.campaigns {
		b = append(appendU64(append(b, c.client[:]...), c.end), c.phase)
		b = appendAmt(b, &c.vault)
		spec, _ := EncodeTx(c.spec) // validated at creation: cannot fail
		b = append(appendU32(b, uint32(len(spec))), spec...)
		b = appendU32(b, uint32(len(c.participants)))
		for _, p := range c.participants {
			b = appendAmt(appendU32(appendBool(append(b, p.addr[:]...), p.validator), p.guild), &p.bond)
		}
		b = appendU32(b, uint32(len(c.labels)))
		for _, l := range c.labels {
			b = append(appendU32(appendU32(b, l.worker), l.item), l.class, l.approve, l.reject)
		}
		b = appendU32(b, uint32(len(c.votes)))
		for _, v := range c.votes {
			b = appendBool(appendU32(appendU32(b, v.validator), v.label), v.approve)
		}
		b = appendU32(b, uint32(len(c.claims)))
		for _, cl := range c.claims {
			b = appendBool(appendAmt(append(b, cl.addr[:]...), &cl.amount), cl.claimed)
		}
	}
	return b
}

// Root returns SHA-256("deai/labeling/root/v1\x00" ‖ Export()).
func (m *Machine) Root() [32]byte {
	if !m.rootValid {
		h := sha256.New()
		h.Write([]byte("deai/labeling/root/v1\x00"))
		h.Write(m.export())
		m.root = [32]byte(h.Sum(nil))
		m.rootValid = true
	}
	return m.root
}

// Import replaces the state with an exported one. It accepts exactly what Export produces
// from a consistent state; on error the state is unchanged.
func (m *Machine) Import(state []byte) error {
	n, err := m.decodeState(state)
	if err != nil {
		return err
	}
	if !bytes.Equal(n.export(), state) {
		return errf(ErrMalformed, "state is not canonical")
	}
	m.totals, m.words, m.guilds, m.campaigns = n.totals, n.words, n.guilds, n.campaigns
	m.rootValid = false
	return nil
}

func (m *Machine) decodeState(state []byte) (*Machine, error) {
	r := &reader{b: state}
	if v := r.u8(); r.err == nil && v != encVersion {
		return nil, errf(ErrMalformed, "state version %d", v)
	}
	n := &Machine{cfg: m.cfg, ledger: m.ledger, words: map[uint32]*word{}}
	t := &n.totals
	for _, x := range []*uint256.Int{&t.In, &t.Paid, &t.Refunded, &t.Burned, &t.Fees, &t.Held} {
		*x = r.amt()
	}
	count := func(each int) int {
		c := int(r.u32())
		if r.err == nil && (len(state)-r.off)/each < c {
			r.err = errf(ErrMalformed, "%d entries of %d bytes do not fit", c, each)
			return 0
		}
		return c
	}
	for range count(28) {
		id, owner, g := r.u32(), r.addr(), r.u32()
		n.words[id] = &word{owner: owner, guild: g}
	}
	for range count(32) {
		g := &guild{owner: r.addr(), cutBps: r.u32(), words: r.u32()}
		for range count(20) {
			g.members = append(g.members, r.addr())
		}
		n.guilds = append(n.guilds, g)
	}
	for range count(58) {
		c := &campaign{client: r.addr(), end: r.u64(), phase: r.u8(), vault: r.amt()}
		spec := r.take(count(1))
		if r.err != nil {
			return nil, r.err
		}
		tx, err := DecodeTx(spec)
		if err != nil {
			return nil, errf(ErrMalformed, "campaign spec: %v", err)
		}
		cs, ok := tx.(CreateCampaign)
		if !ok || cs.Items == 0 || cs.Items > m.cfg.MaxItems || c.phase > phaseClosed {
			return nil, errf(ErrInvalidState, "campaign %d: bad spec or phase", len(n.campaigns)+1)
		}
		c.spec = cs
		for range count(57) {
			c.participants = append(c.participants, participant{addr: r.addr(), validator: r.boolean(), guild: r.u32(), bond: r.amt()})
		}
		for range count(11) {
			l := label{worker: r.u32(), item: r.u32(), class: r.u8(), approve: r.u8(), reject: r.u8()}
			if r.err == nil && (int(l.worker) >= len(c.participants) || l.item >= cs.Items || l.class >= cs.Classes) {
				return nil, errf(ErrInvalidState, "label out of range")
			}
			c.labels = append(c.labels, l)
		}
		for range count(9) {
			v := vote{validator: r.u32(), label: r.u32(), approve: r.boolean()}
			if r.err == nil && (int(v.validator) >= len(c.participants) || int(v.label) >= len(c.labels)) {
				return nil, errf(ErrInvalidState, "vote out of range")
			}
			c.votes = append(c.votes, v)
		}
		for range count(53) {
			c.claims = append(c.claims, claim{addr: r.addr(), amount: r.amt(), claimed: r.boolean()})
		}
		if r.err != nil {
			return nil, r.err
		}
		c.index()
		if len(c.byAddr) != len(c.participants) || len(c.labelAt) != len(c.labels) || len(c.voted) != len(c.votes) {
			return nil, errf(ErrInvalidState, "campaign %d: duplicate participants, labels or votes", len(n.campaigns)+1)
		}
		for i := 1; i < len(c.claims); i++ {
			if cmpAddr(c.claims[i-1].addr, c.claims[i].addr) >= 0 {
				return nil, errf(ErrInvalidState, "claims not ascending")
			}
		}
		n.campaigns = append(n.campaigns, c)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	held := make([]uint32, len(n.guilds))
	for _, w := range n.words {
		if w.guild > uint32(len(n.guilds)) {
			return nil, errf(ErrInvalidState, "word held by unknown guild %d", w.guild)
		}
		if w.guild > 0 {
			held[w.guild-1]++
		}
	}
	for i, g := range n.guilds {
		if held[i] != g.words {
			return nil, errf(ErrInvalidState, "guild %d holds %d words, records %d", i+1, held[i], g.words)
		}
	}
	var sum uint256.Int
	for _, x := range []*uint256.Int{&t.Paid, &t.Refunded, &t.Burned, &t.Fees, &t.Held} {
		if _, o := sum.AddOverflow(&sum, x); o {
			return nil, errf(ErrInvalidState, "totals overflow")
		}
	}
	if !sum.Eq(&t.In) {
		return nil, errf(ErrInvalidState, "totals do not balance")
	}
	return n, nil
}

// Queries (see the package documentation).
const (
	queryCampaign byte = 1
	queryClaim    byte = 2
	queryWord     byte = 3
)

// QueryCampaign asks for campaign id's summary: client addr ‖ end u64 ‖ phase u8 ‖ vault
// amount ‖ participants u32 ‖ labels u32 ‖ votes u32.
func QueryCampaign(id uint64) []byte { return appendU64([]byte{encVersion, queryCampaign}, id) }

// QueryClaim asks for who's claim in campaign id: amount ‖ claimed u8.
func QueryClaim(id uint64, who stake.Address) []byte {
	return append(appendU64([]byte{encVersion, queryClaim}, id), who[:]...)
}

// QueryWord asks who holds word id: owner addr ‖ guild u32.
func QueryWord(id uint32) []byte { return appendU32([]byte{encVersion, queryWord}, id) }

// Query answers QueryCampaign, QueryClaim and QueryWord.
func (m *Machine) Query(q []byte) ([]byte, error) {
	r := &reader{b: q}
	if v := r.u8(); r.err == nil && v != encVersion {
		return nil, errf(ErrMalformed, "query version %d", v)
	}
	switch k := r.u8(); k {
	case queryCampaign:
		id := r.u64()
		if err := r.end(); err != nil {
			return nil, err
		}
		c := m.campaign(id)
		if c == nil {
			return nil, errf(ErrUnknownCampaign, "campaign %d", id)
		}
		b := appendAmt(append(appendU64(append([]byte(nil), c.client[:]...), c.end), c.phase), &c.vault)
		return appendU32(appendU32(appendU32(b, uint32(len(c.participants))), uint32(len(c.labels))), uint32(len(c.votes))), nil
	case queryClaim:
		id, who := r.u64(), r.addr()
		if err := r.end(); err != nil {
			return nil, err
		}
		if m.campaign(id) == nil {
			return nil, errf(ErrUnknownCampaign, "campaign %d", id)
		}
		amt, claimed := m.Claimable(id, who)
		return appendBool(appendAmt(nil, &amt), claimed), nil
	case queryWord:
		id := r.u32()
		if err := r.end(); err != nil {
			return nil, err
		}
		w := m.words[id]
		if w == nil {
			return nil, errf(ErrUnknownWord, "word %d", id)
		}
		return appendU32(append([]byte(nil), w.owner[:]...), w.guild), nil
	default:
		if r.err != nil {
			return nil, r.err
		}
		return nil, errf(ErrMalformed, "unknown query %d", k)
	}
}

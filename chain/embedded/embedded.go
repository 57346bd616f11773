package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/sm"
)

// ErrGenesisMismatch: the store was created with another chain id or another genesis state.
var ErrGenesisMismatch = errors.New("embedded: genesis mismatch")

// Config configures an embedded chain. The zero value is an in-memory chain with id 1337 and
// no machines.
type Config struct {
	// ChainID is the chain's identifier. Default: 1337.
	ChainID uint64
	// Path is the bbolt database file. Empty: in memory, nothing survives Close.
	Path string
	// Machines are the state machines the chain runs, in their genesis state; names must be
	// distinct. On reopening a store, the chain restores them from its latest snapshot and
	// replays the blocks after it, so they must be given in the same genesis state.
	Machines []sm.Machine
	// Clock tells the time blocks are stamped with (plus AdjustTime's offset). Default:
	// time.Now.
	Clock func() time.Time
	// BlockInterval, when positive, commits a block at this cadence whenever transactions
	// are pending. Default: 0 (blocks only on Commit or AutoCommit).
	BlockInterval time.Duration
	// AutoCommit commits a block as soon as transactions are pending: group commit, since
	// everything submitted while one block is being written goes into the next.
	AutoCommit bool
	// SnapshotInterval is the number of blocks between state snapshots, which bound the
	// replay on reopening. Default: 1024.
	SnapshotInterval uint64
	// MaxPending bounds the queued transactions; Submit fails with chain.ErrMempoolFull
	// beyond it. Default: 1<<20.
	MaxPending int
}

// EnsureDefaults returns c with defaults filled in.
func (c Config) EnsureDefaults() Config {
	if c.ChainID == 0 {
		c.ChainID = 1337
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 1024
	}
	if c.MaxPending == 0 {
		c.MaxPending = 1 << 20
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, m := range c.Machines {
		if m == nil {
			errs = append(errs, fmt.Errorf("embedded: config: machine %d is nil", i))
			continue
		}
		n := m.Name()
		if !sm.ValidName(n) {
			errs = append(errs, fmt.Errorf("embedded: config: machine name %q not 1-32 bytes of [a-z0-9_.-]", n))
		}
		if seen[n] {
			errs = append(errs, fmt.Errorf("embedded: config: machine %q registered twice", n))
		}
		seen[n] = true
	}
	if c.BlockInterval < 0 {
		errs = append(errs, fmt.Errorf("embedded: config: negative block interval %v", c.BlockInterval))
	}
	if c.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("embedded: config: negative max pending %d", c.MaxPending))
	}
	return errors.Join(errs...)
}

type pendingTx struct {
	tx     chain.SignedTx
	hash   chain.Hash
	sender chain.Address
}

type loc struct {
	height uint64
	index  uint32
}

// recentBlocks is how many decoded blocks stay in memory for receipts and subscriptions.
const recentBlocks = 256

// Chain is the embedded chain: an in-process chain.Adapter that runs registered state
// machines, keeps its blocks in bbolt (fsync on every commit), and recovers after a crash to
// the last committed block. It is safe for concurrent use.
type Chain struct {
	cfg      Config
	machines map[string]sm.Machine
	names    []string
	st       store

	// mempool
	mpMu       sync.Mutex
	pending    []pendingTx
	pendingSet map[chain.Hash]struct{}
	nextNonce  map[chain.Address]uint64
	wake       chan struct{}

	commitMu sync.Mutex // serializes Commit

	mu      sync.RWMutex // state, head, index, recent, offset, closed, failed
	nonces  map[chain.Address]uint64
	senders []chain.Address // sorted keys of nonces
	head    chain.Header
	headCh  chan struct{} // closed when head changes
	index   map[chain.Hash]loc
	recent  map[uint64]*Block
	offset  time.Duration
	closed  atomic.Bool // set under mpMu
	failed  error

	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ chain.Adapter = (*Chain)(nil)

// Open opens (or creates) an embedded chain.
func Open(cfg Config) (*Chain, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Chain{
		cfg:        cfg,
		machines:   map[string]sm.Machine{},
		pendingSet: map[chain.Hash]struct{}{},
		nextNonce:  map[chain.Address]uint64{},
		wake:       make(chan struct{}, 1),
		nonces:     map[chain.Address]uint64{},
		headCh:     make(chan struct{}),
		index:      map[chain.Hash]loc{},
		recent:     map[uint64]*Block{},
		done:       make(chan struct{}),
	}
	for _, m := range cfg.Machines {
		c.machines[m.Name()] = m
		c.names = append(c.names, m.Name())
	}
	slices.Sort(c.names)
	if cfg.Path == "" {
		c.st = &memStore{}
	} else {
		st, err := openBolt(cfg.Path)
		if err != nil {
			return nil, err
		}
		c.st = st
	}
	if err := c.recover(); err != nil {
		c.st.close()
		return nil, err
	}
	for a, n := range c.nonces {
		c.nextNonce[a] = n
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if cfg.AutoCommit || cfg.BlockInterval > 0 {
		c.wg.Add(1)
		go c.producer(ctx)
	}
	return c, nil
}

func (c *Chain) now() uint64 {
	t := c.cfg.Clock().Add(c.offset).Unix()
	if t < 0 {
		return 0
	}
	return uint64(t)
}

// recover writes genesis into an empty store, or restores the state of a used one from its
// snapshot and the blocks after it, checking every replayed root.
func (c *Chain) recover() error {
	genesisRoot := c.stateRoot()
	head, ok, err := c.st.head()
	if err != nil {
		return err
	}
	if !ok {
		g := chain.Header{ChainID: c.cfg.ChainID, Time: c.now(), StateRoot: genesisRoot,
			TxRoot: txRoot(nil), ResultRoot: resultRoot(nil)}
		snap, err := encodeSnapshot(0, nil, c.nonces, c.names, c.machines)
		if err != nil {
			return err
		}
		if err := c.st.put(0, encodeBlock(&g, nil, nil), snap); err != nil {
			return fmt.Errorf("embedded: write genesis: %w", err)
		}
		c.head = g
		c.recent[0] = &Block{Header: g}
		return nil
	}
	gb, err := c.blockFromStore(0)
	if err != nil {
		return err
	}
	if gb.Header.ChainID != c.cfg.ChainID || gb.Header.StateRoot != genesisRoot {
		return fmt.Errorf("%w: store has chain %d root %s, config gives chain %d root %s",
			ErrGenesisMismatch, gb.Header.ChainID, gb.Header.StateRoot, c.cfg.ChainID, genesisRoot)
	}
	from := uint64(1)
	sb, err := c.st.snapshot()
	if err != nil {
		return err
	}
	if sb != nil {
		s, err := decodeSnapshot(sb)
		if err != nil {
			return err
		}
		if s.height > head {
			return fmt.Errorf("%w: snapshot at %d beyond head %d", chain.ErrCorrupt, s.height, head)
		}
		for _, n := range c.names {
			exp, ok := s.exports[n]
			if !ok {
				return fmt.Errorf("%w: snapshot lacks machine %q", ErrGenesisMismatch, n)
			}
			if err := c.machines[n].Import(exp); err != nil {
				return fmt.Errorf("embedded: restore %s: %w", n, err)
			}
		}
		c.nonces, c.senders = s.nonces, s.senders
		hb, err := c.blockFromStore(s.height)
		if err != nil {
			return err
		}
		if c.stateRoot() != hb.Header.StateRoot {
			return fmt.Errorf("%w: snapshot at %d does not match its block's state root", chain.ErrCorrupt, s.height)
		}
		from = s.height + 1
		c.head = hb.Header
	} else {
		c.head = gb.Header
	}
	// Index every transaction; replay the blocks after the snapshot.
	for h := uint64(1); h <= head; h++ {
		b, err := c.blockFromStore(h)
		if err != nil {
			return err
		}
		if b.Header.Height != h || b.Header.ChainID != c.cfg.ChainID {
			return fmt.Errorf("%w: block %d has header height %d chain %d", chain.ErrCorrupt, h, b.Header.Height, b.Header.ChainID)
		}
		if h >= from {
			if b.Header.Parent != c.head.Hash() {
				return fmt.Errorf("%w: block %d does not follow its parent", chain.ErrCorrupt, h)
			}
			senders := make([]chain.Address, len(b.Txs))
			for i := range b.Receipts {
				senders[i] = b.Receipts[i].Sender
			}
			hdr, rs := c.execute(c.head, b.Header.Time, b.Txs, senders)
			if hdr != b.Header {
				return fmt.Errorf("%w: replaying block %d gives another header (state root %s, stored %s)",
					chain.ErrCorrupt, h, hdr.StateRoot, b.Header.StateRoot)
			}
			b.Receipts = rs
			c.head = hdr
		}
		for i := range b.Receipts {
			c.index[b.Receipts[i].Tx] = loc{h, uint32(i)}
		}
		if head-h < recentBlocks {
			c.recent[h] = b
		}
	}
	return nil
}

func (c *Chain) blockFromStore(h uint64) (*Block, error) {
	enc, err := c.st.block(h)
	if err != nil {
		return nil, err
	}
	return decodeBlock(enc)
}

func (c *Chain) stateRoot() chain.Hash {
	return stateRoot(c.senders, c.nonces, c.names, c.machines)
}

// execute applies txs on top of parent at the given time and returns the new header and the
// receipts. The caller holds c.mu (or is recovering).
func (c *Chain) execute(parent chain.Header, t uint64, txs []chain.SignedTx, senders []chain.Address) (chain.Header, []chain.Receipt) {
	if t < parent.Time {
		t = parent.Time
	}
	env := sm.Env{ChainID: c.cfg.ChainID, Height: parent.Height + 1, Time: t, Beacon: parent.Hash()}
	rs := make([]chain.Receipt, len(txs))
	hashes := make([]chain.Hash, len(txs))
	for i := range txs {
		tx := &txs[i]
		sender := senders[i]
		hashes[i] = tx.Hash()
		r := chain.Receipt{Tx: hashes[i], Height: env.Height, Index: uint32(i), Sender: sender}
		ev, err := c.machines[tx.Machine].Apply(env, sender, tx.Payload)
		if err != nil {
			r.Status, r.Reason = chain.Failed, err.Error()
		} else {
			r.Status = chain.Succeeded
			r.Events = make([]chain.Event, len(ev))
			for j, e := range ev {
				r.Events[j] = chain.Event{Height: env.Height, TxIndex: uint32(i), Tx: hashes[i], Machine: tx.Machine, Kind: e.Kind, Data: e.Data}
			}
		}
		if _, ok := c.nonces[sender]; !ok {
			i, _ := slices.BinarySearchFunc(c.senders, sender, func(x, y chain.Address) int { return bytes.Compare(x[:], y[:]) })
			c.senders = slices.Insert(c.senders, i, sender)
		}
		c.nonces[sender] = tx.Nonce + 1
		rs[i] = r
	}
	h := chain.Header{
		ChainID:    c.cfg.ChainID,
		Height:     env.Height,
		Time:       t,
		Parent:     env.Beacon,
		TxRoot:     txRoot(hashes),
		ResultRoot: resultRoot(rs),
		StateRoot:  c.stateRoot(),
	}
	return h, rs
}

// ChainID returns the chain's identifier.
func (c *Chain) ChainID() uint64 { return c.cfg.ChainID }

func (c *Chain) usable() error {
	if c.closed.Load() {
		return chain.ErrClosed
	}
	if c.failed != nil {
		return fmt.Errorf("embedded: a block failed to commit, the chain stopped: %w", c.failed)
	}
	return nil
}

// Submit implements chain.Adapter. Signature recovery runs in the caller's goroutine, so
// concurrent submitters verify in parallel.
func (c *Chain) Submit(ctx context.Context, tx chain.SignedTx) (chain.Hash, error) {
	if err := ctx.Err(); err != nil {
		return chain.Hash{}, err
	}
	if tx.ChainID != c.cfg.ChainID {
		return chain.Hash{}, &chain.ChainIDError{Want: c.cfg.ChainID, Got: tx.ChainID}
	}
	if err := tx.Validate(); err != nil {
		return chain.Hash{}, err
	}
	if c.machines[tx.Machine] == nil {
		return chain.Hash{}, fmt.Errorf("%w: %q", chain.ErrUnknownMachine, tx.Machine)
	}
	sender, err := tx.Sender()
	if err != nil {
		return chain.Hash{}, err
	}
	tx.Payload = bytes.Clone(tx.Payload)
	h := tx.Hash()
	c.mpMu.Lock()
	if c.closed.Load() {
		c.mpMu.Unlock()
		return chain.Hash{}, chain.ErrClosed
	}
	if len(c.pending) >= c.cfg.MaxPending {
		c.mpMu.Unlock()
		return chain.Hash{}, fmt.Errorf("%w: %d pending", chain.ErrMempoolFull, len(c.pending))
	}
	if want := c.nextNonce[sender]; tx.Nonce != want {
		c.mpMu.Unlock()
		return chain.Hash{}, &chain.NonceError{Sender: sender, Want: want, Got: tx.Nonce}
	}
	c.nextNonce[sender] = tx.Nonce + 1
	c.pending = append(c.pending, pendingTx{tx: tx, hash: h, sender: sender})
	c.pendingSet[h] = struct{}{}
	c.mpMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return h, nil
}

// Nonce implements chain.Adapter.
func (c *Chain) Nonce(ctx context.Context, sender chain.Address) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mpMu.Lock()
	defer c.mpMu.Unlock()
	return c.nextNonce[sender], nil
}

// Pending returns the number of queued transactions.
func (c *Chain) Pending() int {
	c.mpMu.Lock()
	defer c.mpMu.Unlock()
	return len(c.pending)
}

// Commit makes a block of every queued transaction (possibly none), writes it durably and
// returns its header. Concurrent calls are serialized; transactions submitted while a block
// is being written go into the next one.
func (c *Chain) Commit(ctx context.Context) (chain.Header, error) {
	if err := ctx.Err(); err != nil {
		return chain.Header{}, err
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mpMu.Lock()
	batch := c.pending
	c.pending = nil
	c.mpMu.Unlock()

	c.mu.Lock()
	if err := c.usable(); err != nil {
		c.mu.Unlock()
		return chain.Header{}, err
	}
	txs := make([]chain.SignedTx, len(batch))
	senders := make([]chain.Address, len(batch))
	for i := range batch {
		txs[i], senders[i] = batch[i].tx, batch[i].sender
	}
	parent := c.head
	hdr, rs := c.execute(parent, c.now(), txs, senders)
	var snap []byte
	if hdr.Height%c.cfg.SnapshotInterval == 0 {
		var err error
		if snap, err = encodeSnapshot(hdr.Height, c.senders, c.nonces, c.names, c.machines); err != nil {
			c.failed = err
			c.mu.Unlock()
			return chain.Header{}, err
		}
	}
	if err := c.st.put(hdr.Height, encodeBlock(&hdr, txs, rs), snap); err != nil {
		c.failed = err
		c.mu.Unlock()
		return chain.Header{}, fmt.Errorf("embedded: commit block %d: %w", hdr.Height, err)
	}
	c.head = hdr
	c.recent[hdr.Height] = &Block{Header: hdr, Txs: txs, Receipts: rs}
	if hdr.Height >= recentBlocks {
		delete(c.recent, hdr.Height-recentBlocks)
	}
	for i := range rs {
		c.index[rs[i].Tx] = loc{hdr.Height, uint32(i)}
	}
	close(c.headCh)
	c.headCh = make(chan struct{})
	c.mu.Unlock()

	c.mpMu.Lock()
	for i := range batch {
		delete(c.pendingSet, batch[i].hash)
	}
	c.mpMu.Unlock()
	return hdr, nil
}

// producer commits blocks for AutoCommit and BlockInterval.
func (c *Chain) producer(ctx context.Context) {
	defer c.wg.Done()
	var tick <-chan time.Time
	if c.cfg.BlockInterval > 0 {
		t := time.NewTicker(c.cfg.BlockInterval)
		defer t.Stop()
		tick = t.C
	}
	wake := c.wake
	if !c.cfg.AutoCommit {
		wake = nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick:
		}
		for c.Pending() > 0 {
			if _, err := c.Commit(ctx); err != nil {
				return
			}
			if !c.cfg.AutoCommit {
				break
			}
		}
	}
}

// AdjustTime moves the chain's clock by d from the next block on (block times still never
// decrease), like go-ethereum's simulated backend.
func (c *Chain) AdjustTime(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Receipt implements chain.Adapter.
func (c *Chain) Receipt(ctx context.Context, h chain.Hash) (chain.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return chain.Receipt{}, err
	}
	c.mpMu.Lock()
	_, pending := c.pendingSet[h]
	c.mpMu.Unlock()
	c.mu.RLock()
	l, ok := c.index[h]
	c.mu.RUnlock()
	if !ok {
		if pending {
			return chain.Receipt{}, fmt.Errorf("%w: %s", chain.ErrPending, h)
		}
		return chain.Receipt{}, fmt.Errorf("%w: transaction %s", chain.ErrNotFound, h)
	}
	b, err := c.block(l.height)
	if err != nil {
		return chain.Receipt{}, err
	}
	return cloneReceipt(b.Receipts[l.index]), nil
}

func cloneReceipt(r chain.Receipt) chain.Receipt {
	r.Events = slices.Clone(r.Events)
	for i := range r.Events {
		r.Events[i].Data = bytes.Clone(r.Events[i].Data)
	}
	return r
}

// block returns the block at h from memory or the store; callers must not modify it.
func (c *Chain) block(h uint64) (*Block, error) {
	c.mu.RLock()
	b := c.recent[h]
	err := c.usable()
	head := c.head.Height
	c.mu.RUnlock()
	if b != nil {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	if h > head {
		return nil, fmt.Errorf("%w: block %d, head %d", chain.ErrFuture, h, head)
	}
	return c.blockFromStore(h)
}

// Block returns the block at height h: header, transactions and receipts.
func (c *Chain) Block(ctx context.Context, h uint64) (Block, error) {
	if err := ctx.Err(); err != nil {
		return Block{}, err
	}
	b, err := c.block(h)
	if err != nil {
		return Block{}, err
	}
	out := Block{Header: b.Header, Txs: slices.Clone(b.Txs), Receipts: make([]chain.Receipt, len(b.Receipts))}
	for i := range b.Receipts {
		out.Receipts[i] = cloneReceipt(b.Receipts[i])
	}
	return out, nil
}

// WaitIncluded implements chain.Adapter.
func (c *Chain) WaitIncluded(ctx context.Context, h chain.Hash) (chain.Receipt, error) {
	for {
		c.mu.RLock()
		ch := c.headCh
		err := c.usable()
		c.mu.RUnlock()
		if err != nil {
			return chain.Receipt{}, err
		}
		r, err := c.Receipt(ctx, h)
		if !errors.Is(err, chain.ErrPending) {
			return r, err
		}
		select {
		case <-ch:
		case <-c.done:
		case <-ctx.Done():
			return chain.Receipt{}, ctx.Err()
		}
	}
}

// Query implements chain.Adapter.
func (c *Chain) Query(ctx context.Context, machine string, q []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := c.machines[machine]
	if m == nil {
		return nil, fmt.Errorf("%w: %q", chain.ErrUnknownMachine, machine)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if err := c.usable(); err != nil {
		return nil, err
	}
	return m.Query(bytes.Clone(q))
}

// Head implements chain.Adapter.
func (c *Chain) Head(ctx context.Context) (chain.Header, error) {
	if err := ctx.Err(); err != nil {
		return chain.Header{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.head, c.usable()
}

// HeaderAt implements chain.Adapter.
func (c *Chain) HeaderAt(ctx context.Context, h uint64) (chain.Header, error) {
	if err := ctx.Err(); err != nil {
		return chain.Header{}, err
	}
	b, err := c.block(h)
	if err != nil {
		return chain.Header{}, err
	}
	return b.Header, nil
}

// Beacon implements chain.Adapter: the hash of the header at height h. Whoever runs an
// embedded chain produces its blocks and could grind their hashes by choosing transactions
// or times; the beacon is unpredictable to everyone else.
func (c *Chain) Beacon(ctx context.Context, h uint64) (chain.Hash, error) {
	hdr, err := c.HeaderAt(ctx, h)
	if err != nil {
		return chain.Hash{}, err
	}
	return hdr.Hash(), nil
}

// Subscribe implements chain.Adapter. Each subscription reads blocks at its own pace (from
// memory or the store), so a slow reader delays nobody and misses nothing.
func (c *Chain) Subscribe(ctx context.Context, from uint64) (<-chan chain.Notification, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mpMu.Lock()
	c.mu.RLock()
	err := c.usable()
	c.mu.RUnlock()
	if err == nil {
		c.wg.Add(1)
	}
	c.mpMu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make(chan chain.Notification, 64)
	go func() {
		defer c.wg.Done()
		defer close(out)
		send := func(n chain.Notification) bool {
			select {
			case out <- n:
				return true
			case <-ctx.Done():
			case <-c.done:
			}
			return false
		}
		next := from
		for {
			c.mu.RLock()
			head, ch, err := c.head.Height, c.headCh, c.usable()
			c.mu.RUnlock()
			if err != nil {
				if !errors.Is(err, chain.ErrClosed) {
					send(chain.Notification{Err: err})
				}
				return
			}
			for ; next <= head; next++ {
				b, err := c.block(next)
				if err != nil {
					send(chain.Notification{Err: err})
					return
				}
				for i := range b.Receipts {
					for _, e := range b.Receipts[i].Events {
						e.Data = bytes.Clone(e.Data)
						if !send(chain.Notification{Event: e}) {
							return
						}
					}
				}
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return
			case <-c.done:
				return
			}
		}
	}()
	return out, nil
}

// Close stops block production, ends subscriptions and closes the store. Queued
// transactions that were not committed are dropped (they were never acknowledged).
func (c *Chain) Close() error {
	c.mpMu.Lock()
	if c.closed.Load() {
		c.mpMu.Unlock()
		return nil
	}
	c.closed.Store(true) // under mpMu: stops Submit and Subscribe
	c.mpMu.Unlock()
	c.cancel()
	close(c.done)
	c.commitMu.Lock()
	c.mu.Lock()
	c.mu.Unlock()
	c.commitMu.Unlock()
	c.wg.Wait()
	return c.st.close()
}

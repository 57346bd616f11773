package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/dispute/accelvm"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/pol"
)

// The devnet's referee is dispute/accelvm: a game over a compute task names the task as its
// program (programOf), and the dispute machine's Config.Resolve (referee.resolve) builds the
// accelvm VM of that task's training step from what the chain recorded, trusting nothing a
// party says: the task and its matched offer in the market machine, the spec whose hash the
// market recorded (graph, batch and optimizer, compiled by graph.Compile), the dataset by
// its commitment, and the run seed of the binding (task, solver of the matched offer, seed).
// The game then bisects the committed step states, the transitions of one step and the
// chunks of one transition, and the referee recomputes one chunk of at most 2^16 FLOPs.

// programOf returns the program a dispute over task names: the task id, which the market
// machine maps to everything the referee needs.
func programOf(task [32]byte) dispute.Hash { return dispute.Hash(task) }

// errNoSpec reports a spec the referee has not been given (or whose bytes do not hash to
// the market's record).
var errNoSpec = errors.New("devnet: referee: task spec unavailable")

// specStore holds task specs by the SHA-256 the market records of their encoding
// (market.EncodeSpec): the market keeps only the hash, the submitter publishes the bytes.
// With a directory, specs are also files there, so that a reopened chain's replayed disputes
// resolve. Bytes are accepted only when they hash to the key.
type specStore struct {
	dir string
	mu  sync.Mutex
	mem map[[32]byte][]byte
}

func newSpecStore(dir string) *specStore { return &specStore{dir: dir, mem: map[[32]byte][]byte{}} }

func (s *specStore) path(h [32]byte) string {
	return filepath.Join(s.dir, "specs", hex.EncodeToString(h[:])+".spec")
}

// put publishes spec and returns its hash.
func (s *specStore) put(spec *market.TaskSpec) ([32]byte, error) {
	b := market.EncodeSpec(spec)
	h := sha256.Sum256(b)
	s.mu.Lock()
	s.mem[h] = b
	s.mu.Unlock()
	if s.dir == "" {
		return h, nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path(h)), 0o755); err != nil {
		return h, fmt.Errorf("devnet: spec store: %w", err)
	}
	if err := os.WriteFile(s.path(h), b, 0o644); err != nil {
		return h, fmt.Errorf("devnet: spec store: %w", err)
	}
	return h, nil
}

// get returns the spec whose encoding hashes to h.
func (s *specStore) get(h [32]byte) (market.TaskSpec, error) {
	s.mu.Lock()
	b, ok := s.mem[h]
	s.mu.Unlock()
	if !ok && s.dir != "" {
		b, _ = os.ReadFile(s.path(h))
	}
	if b == nil || sha256.Sum256(b) != h {
		return market.TaskSpec{}, fmt.Errorf("%w: %x", errNoSpec, h[:4])
	}
	spec, err := market.DecodeSpec(b)
	if err != nil {
		return market.TaskSpec{}, fmt.Errorf("%w: %x: %w", errNoSpec, h[:4], err)
	}
	return spec, nil
}

// referee resolves the programs of compute disputes to accelvm VMs. The dispute machine
// caches what it resolves; the referee also keeps the VMs it built, for the parties.
type referee struct {
	market *market.Machine
	specs  *specStore
	mu     sync.Mutex
	data   map[[32]byte]*dataset.Set // datasets the referee holds, by commitment
	vms    map[[32]byte]*accelvm.VM
}

func newReferee(m *market.Machine, specs *specStore, sets ...*dataset.Set) *referee {
	r := &referee{market: m, specs: specs, data: map[[32]byte]*dataset.Set{}, vms: map[[32]byte]*accelvm.VM{}}
	for _, s := range sets {
		r.data[s.Commitment()] = s
	}
	return r
}

// resolve is the dispute machine's Config.Resolve.
func (r *referee) resolve(program dispute.Hash) (dispute.VM, error) {
	// The chain applies moves synchronously and accelvm.New only lays out the program: the
	// background context bounds nothing that needs bounding.
	return r.vm(context.Background(), [32]byte(program))
}

// vm returns the referee of task's training step, built from the chain's records.
func (r *referee) vm(ctx context.Context, task [32]byte) (*accelvm.VM, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if vm := r.vms[task]; vm != nil {
		return vm, nil
	}
	t, ok := r.market.Task(task)
	if !ok || t.Status < market.TaskProven || t.Proof == ([32]byte{}) {
		return nil, fmt.Errorf("devnet: referee: no proven task %x", task[:4])
	}
	offer, ok := r.market.Offer(t.Offer)
	if !ok {
		return nil, fmt.Errorf("devnet: referee: task %x: no offer %x", task[:4], t.Offer[:4])
	}
	spec, err := r.specs.get(t.SpecHash)
	if err != nil {
		return nil, fmt.Errorf("devnet: referee: task %x: %w", task[:4], err)
	}
	prog, err := spec.Compile()
	if err != nil {
		return nil, fmt.Errorf("devnet: referee: task %x: %w", task[:4], err)
	}
	data := r.dataset(spec.Dataset.Root)
	if data == nil {
		return nil, fmt.Errorf("devnet: referee: task %x: the referee does not hold dataset %x", task[:4], spec.Dataset.Root[:4])
	}
	seed := pol.Binding{Task: task, Solver: pol.Address(offer.Solver), Seed: spec.Seed}.RunSeed()
	vm, err := accelvm.New(ctx, accelvm.Config{Program: prog, Data: data, RunSeed: seed})
	if err != nil {
		return nil, fmt.Errorf("devnet: referee: task %x: %w", task[:4], err)
	}
	r.vms[task] = vm
	return vm, nil
}

// dataset returns the set with the given root: the devnet's own, or, for a block of an
// earlier run replayed on reopening, the embedded subset or the installed full set.
// Callers hold r.mu.
func (r *referee) dataset(root [32]byte) *dataset.Set {
	if s := r.data[root]; s != nil {
		return s
	}
	for _, src := range []string{dataset.EmbeddedSource, dataset.DefaultFashionMNISTDir} {
		if train, _, _, err := dataset.FashionMNIST(src); err == nil {
			r.data[train.Commitment()] = train
		}
	}
	return r.data[root]
}

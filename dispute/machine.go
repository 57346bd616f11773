package dispute

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Name is the machine name of the dispute game on a chain.
const Name = "dispute"

// Ledger is what the dispute machine needs of the token ledger: to move tokens on behalf of
// a sender (bonds and deposits into escrows, task fees into the jackpot treasury), to release
// and refund escrows, slash and pay out of the jackpot treasury as an authority, and to read
// bonds, escrows and treasuries. *stake.Ledger implements it. ApplyOp must leave the ledger
// unchanged on error. When the ledger also implements Export and Import (sm.Machine does), a
// transaction that needs several ledger operations is made atomic through them.
type Ledger interface {
	ApplyOp(env sm.Env, sender stake.Address, op stake.Op) ([]sm.Event, error)
	Account(a stake.Address) stake.Account
	Escrow(id [32]byte) (stake.Escrow, bool)
	Treasury(name string) uint256.Int
}

var _ Ledger = (*stake.Ledger)(nil)

// Config configures a Machine. The zero value needs only Self, VM (or Resolve) and, for
// bonds, a ledger.
type Config struct {
	// Self is the machine's address on the ledger: the arbiter of every bond and deposit
	// escrow and, for slashing and jackpot payouts, a ledger authority.
	Self stake.Address
	// VM is the referee's computation (the shape of the levels and the chunk check) of every
	// game whose Open names no Program.
	VM VM
	// Resolve, when set, returns the VM that referees the computation a game's Open names
	// (Open.Program, e.g. a program hash), so that one machine referees disputes over
	// different programs. It must be deterministic: the same program always resolves to an
	// equivalent VM, on every node. An error rejects the Open (wrapped in ErrBadMove). A
	// game whose Open names no program uses VM.
	Resolve func(program Hash) (VM, error)
	// K is the arity of the bisection. Default 8; at least 2, at most 256.
	K uint64
	// Clock is each party's chess-clock budget in seconds of chain time. Default 3600.
	Clock uint64
	// Bond is the flat part of what every move escrows from its sender; Costs adds the price
	// of the reply the move invites (Machine.BondFor). Both zero: no bonds (then the ledger
	// may be nil).
	Bond uint256.Int
	// Costs prices the reply each move invites; its zero value adds nothing to Bond.
	Costs Costs
	// Forced configures forced-error tasks (Commit, Post, Challenge, Reveal, Finalize).
	Forced Forced
	// SlashNum/SlashDen is the fraction of the loser's bonded stake slashed at settlement,
	// SlashRewardBps of it paid to the winner, the rest to the jackpot treasury. Zero: none.
	SlashNum, SlashDen uint64
	SlashRewardBps     uint32
}

// EnsureDefaults returns c with defaults filled in.
func (c Config) EnsureDefaults() Config {
	if c.K == 0 {
		c.K = 8
	}
	if c.Clock == 0 {
		c.Clock = 3600
	}
	c.Costs = c.Costs.EnsureDefaults()
	c.Forced = c.Forced.EnsureDefaults()
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.VM == nil && c.Resolve == nil {
		errs = append(errs, fmt.Errorf("%w: no VM and no resolver", ErrConfig))
	}
	if c.K < 2 || c.K > 256 {
		errs = append(errs, fmt.Errorf("%w: arity %d out of range [2, 256]", ErrConfig, c.K))
	}
	if c.SlashNum > c.SlashDen || (c.SlashNum > 0 && c.SlashDen == 0) {
		errs = append(errs, fmt.Errorf("%w: slash fraction %d/%d", ErrConfig, c.SlashNum, c.SlashDen))
	}
	if c.SlashRewardBps > 10000 {
		errs = append(errs, fmt.Errorf("%w: slash reward %d bps", ErrConfig, c.SlashRewardBps))
	}
	if err := c.Forced.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Side is a party of a game.
type Side uint8

// The sides. The defender stands by its committed claim; the challenger disputes it.
const (
	Defender   Side = 1
	Challenger Side = 2
)

// String returns the side's name.
func (s Side) String() string {
	switch s {
	case Defender:
		return "defender"
	case Challenger:
		return "challenger"
	}
	return "none"
}

// Phase is what a game waits for.
type Phase uint8

// The phases. Bisect, Descend and Prove wait for the defender, Pick for the challenger.
const (
	PhaseBisect  Phase = 1
	PhasePick    Phase = 2
	PhaseDescend Phase = 3
	PhaseProve   Phase = 4
	PhaseDone    Phase = 5
)

func (p Phase) mover() Side {
	if p == PhasePick {
		return Challenger
	}
	return Defender
}

// Game is one dispute's state.
type Game struct {
	ID                   [32]byte
	Defender, Challenger stake.Address
	Steps                uint64
	// Program names the computation (Open.Program; zero: Config.VM) and Task the
	// forced-error task whose result the game disputes (zero: none).
	Program Hash     `json:",omitzero"`
	Task    [32]byte `json:",omitzero"`
	Pos     Position
	// Root is the defender's commitment to the current level; LoLeaf and HiLeaf its leaves at
	// Pos.Lo (agreed) and Pos.Hi (disputed).
	Root           Hash
	LoLeaf, HiLeaf Hash
	// Points are the leaves revealed at Pos.Points(K), waiting for the challenger's pick.
	Points []Hash
	Phase  Phase
	// Clock is each side's remaining time (defender, challenger); Last the time of the last
	// accepted move.
	Clock [2]uint64
	Last  uint64
	// Rounds counts bisection rounds and descents; Moves every accepted move.
	Rounds, Moves uint64
	Winner        Side
	// RefereeFLOPs is what the referee's check cost.
	RefereeFLOPs int64
	// Bonds lists the escrows holding the moves' bonds.
	Bonds [][32]byte
}

// Machine is the dispute game as a chain/sm.Machine: every move is a transaction. It is not
// safe for concurrent use (the chain serialises calls).
type Machine struct {
	cfg    Config
	ledger Ledger
	games  map[[32]byte]*Game
	tasks  map[[32]byte]*Task
	vms    map[Hash]VM // resolved programs (a cache, not state)
}

var _ sm.Machine = (*Machine)(nil)

// New returns an empty dispute machine over ledger (nil when cfg.Bond is zero and nothing is
// slashed).
func New(cfg Config, ledger Ledger) (*Machine, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ledger == nil && (!cfg.Bond.IsZero() || !cfg.Costs.Unit.IsZero() || cfg.SlashNum > 0 || cfg.Forced.moves()) {
		return nil, fmt.Errorf("%w: bonds, slashing, fees, deposits or jackpots need a ledger", ErrConfig)
	}
	return &Machine{cfg: cfg, ledger: ledger, games: map[[32]byte]*Game{}, tasks: map[[32]byte]*Task{}, vms: map[Hash]VM{}}, nil
}

// vmOf returns the VM that referees computation program (zero: Config.VM).
func (m *Machine) vmOf(program Hash) (VM, error) {
	if program == (Hash{}) {
		if m.cfg.VM == nil {
			return nil, fmt.Errorf("%w: the game names no program and the machine has no default VM", ErrBadMove)
		}
		return m.cfg.VM, nil
	}
	if vm, ok := m.vms[program]; ok {
		return vm, nil
	}
	if m.cfg.Resolve == nil {
		return nil, fmt.Errorf("%w: program %x: the machine has no resolver", ErrBadMove, program[:8])
	}
	vm, err := m.cfg.Resolve(program)
	if err != nil {
		return nil, fmt.Errorf("%w: program %x: %w", ErrBadMove, program[:8], err)
	}
	if vm == nil {
		return nil, fmt.Errorf("%w: program %x resolves to no VM", ErrBadMove, program[:8])
	}
	m.vms[program] = vm
	return vm, nil
}

// K returns the machine's bisection arity.
func (m *Machine) K() uint64 { return m.cfg.K }

// Name implements sm.Machine.
func (m *Machine) Name() string { return Name }

// Game returns a copy of game id.
func (m *Machine) Game(id [32]byte) (Game, bool) {
	g, ok := m.games[id]
	if !ok {
		return Game{}, false
	}
	return g.clone(), true
}

func (g *Game) clone() Game {
	c := *g
	c.Points = slices.Clone(g.Points)
	c.Bonds = slices.Clone(g.Bonds)
	return c
}

// Apply implements sm.Machine: it decodes payload (EncodeMove) and applies it.
func (m *Machine) Apply(env sm.Env, sender [20]byte, payload []byte) ([]sm.Event, error) {
	mv, err := DecodeMove(payload)
	if err != nil {
		return nil, err
	}
	return m.ApplyMove(env, sender, mv)
}

// ApplyMove applies one move sent by sender. On error nothing changed, neither the machine
// nor the ledger.
func (m *Machine) ApplyMove(env sm.Env, sender stake.Address, mv Move) ([]sm.Event, error) {
	if mv == nil {
		return nil, fmt.Errorf("%w: nil move", ErrBadMove)
	}
	switch mv.(type) {
	case Prove, Timeout, Reveal, Finalize: // several ledger operations
	default: // at most one ledger operation, applied last: atomic by itself
		return m.applyMove(env, sender, mv)
	}
	var evs []sm.Event
	err := m.atomic(func() error {
		var err error
		evs, err = m.applyMove(env, sender, mv)
		return err
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// atomic runs f, which may apply several ledger operations and then fail, so that on error
// the ledger is as it was: when the ledger can Export and Import, f runs between a snapshot
// and, on error, its restoration. The machine's own state is committed by f only on success.
func (m *Machine) atomic(f func() error) error {
	snap, ok := m.ledger.(interface {
		Export() ([]byte, error)
		Import([]byte) error
	})
	if !ok || m.ledger == nil {
		return f()
	}
	before, err := snap.Export()
	if err != nil {
		return fmt.Errorf("%w: snapshot: %w", ErrStake, err)
	}
	if err := f(); err != nil {
		if ierr := snap.Import(before); ierr != nil {
			return errors.Join(err, fmt.Errorf("%w: restore: %w", ErrStake, ierr))
		}
		return err
	}
	return nil
}

func (m *Machine) applyMove(env sm.Env, sender stake.Address, mv Move) ([]sm.Event, error) {
	switch v := mv.(type) {
	case Open:
		return m.open(env, sender, v)
	case Commit, Post, Challenge, Reveal, Finalize:
		return m.task(env, sender, mv)
	}
	id := mv.game()
	g0, ok := m.games[id]
	if !ok || g0.Phase == PhaseDone {
		return nil, fmt.Errorf("%w: %x", ErrNoGame, id[:8])
	}
	vm, err := m.vmOf(g0.Program)
	if err != nil {
		return nil, err
	}
	g := g0.clone() // work on a copy: commit only on success
	if _, ok := mv.(Timeout); ok {
		side := g.Phase.mover()
		if env.Time < g.Last || env.Time-g.Last <= g.Clock[side-1] {
			return nil, fmt.Errorf("%w: the %s's clock has not run out", ErrClock, side)
		}
		g.Clock[side-1] = 0
		return m.resolve(env, &g, 3-side, "timeout")
	}
	side := g.Phase.mover()
	if want := g.party(side); sender != want {
		return nil, fmt.Errorf("%w: %s waits for the %s (%s), not %s", ErrBadMove, g.Pos, side, want, sender)
	}
	if env.Time < g.Last || env.Time-g.Last > g.Clock[side-1] {
		return nil, fmt.Errorf("%w: the %s's clock ran out", ErrClock, side)
	}
	var kind string
	switch v := mv.(type) {
	case Bisect:
		kind, err = m.bisect(vm, &g, v)
	case Pick:
		kind, err = m.pick(&g, v)
	case Descend:
		kind, err = m.descend(vm, &g, v)
	case Prove:
		var winner Side
		winner, err = m.prove(vm, &g, v)
		if err != nil {
			return nil, err
		}
		g.Clock[side-1] -= env.Time - g.Last
		g.Last = env.Time
		g.Moves++
		return m.resolve(env, &g, winner, "referee")
	default:
		return nil, fmt.Errorf("%w: unknown move %T", ErrBadMove, mv)
	}
	if err != nil {
		return nil, err
	}
	evs, err := m.bond(env, vm, &g, sender)
	if err != nil {
		return nil, err
	}
	g.Clock[side-1] -= env.Time - g.Last
	g.Last = env.Time
	g.Moves++
	*g0 = g
	return append(evs, event(kind, &g)), nil
}

func (g *Game) party(s Side) stake.Address {
	if s == Defender {
		return g.Defender
	}
	return g.Challenger
}

func (m *Machine) open(env sm.Env, sender stake.Address, o Open) ([]sm.Event, error) {
	if _, ok := m.games[o.Game]; ok {
		return nil, fmt.Errorf("%w: game %x exists", ErrBadMove, o.Game[:8])
	}
	if o.Defender == sender {
		return nil, fmt.Errorf("%w: a party cannot challenge itself", ErrBadMove)
	}
	if o.Steps == 0 || o.Steps >= merkle.MaxSize {
		return nil, fmt.Errorf("%w: %d steps", ErrBadMove, o.Steps)
	}
	vm, err := m.vmOf(o.Program)
	if err != nil {
		return nil, err
	}
	if !verify(o.Root, o.Start, 0, o.Steps+1, o.StartProof) || !verify(o.Root, o.Claim, o.Steps, o.Steps+1, o.ClaimProof) {
		return nil, fmt.Errorf("%w: start or claim not in the committed root", ErrBadProof)
	}
	var t *Task
	if o.Task != ([32]byte{}) {
		if t, err = m.taskForGame(env, sender, o); err != nil {
			return nil, err
		}
	}
	g := &Game{ID: o.Game, Defender: o.Defender, Challenger: sender, Steps: o.Steps, Program: o.Program, Task: o.Task, Pos: Root(o.Steps),
		Root: o.Root, LoLeaf: o.Start, HiLeaf: o.Claim, Clock: [2]uint64{m.cfg.Clock, m.cfg.Clock}, Last: env.Time}
	g.Phase = m.nextPhase(g.Pos)
	evs, err := m.bond(env, vm, g, sender)
	if err != nil {
		return nil, err
	}
	g.Moves = 1
	m.games[o.Game] = g
	if t != nil {
		m.tasks[t.ID] = t
	}
	return append(evs, event("open", g)), nil
}

func (m *Machine) nextPhase(p Position) Phase {
	switch {
	case !p.Narrowed():
		return PhaseBisect
	case p.Level < LevelChunk:
		return PhaseDescend
	}
	return PhaseProve
}

func (m *Machine) bisect(vm VM, g *Game, b Bisect) (string, error) {
	if g.Phase != PhaseBisect {
		return "", fmt.Errorf("%w: bisect in phase %d", ErrBadMove, g.Phase)
	}
	pts := g.Pos.Points(m.cfg.K)
	if len(b.Leaves) != len(pts) || len(b.Proofs) != len(pts) {
		return "", fmt.Errorf("%w: %d leaves and %d proofs for %d points", ErrBadMove, len(b.Leaves), len(b.Proofs), len(pts))
	}
	size := levelLen(vm, g.Steps, g.Pos) + 1
	for i, at := range pts {
		if !verify(g.Root, b.Leaves[i], at, size, b.Proofs[i]) {
			return "", fmt.Errorf("%w: leaf %d at %s", ErrBadProof, at, g.Pos)
		}
	}
	g.Points = slices.Clone(b.Leaves)
	g.Phase = PhasePick
	return "bisect", nil
}

func (m *Machine) pick(g *Game, p Pick) (string, error) {
	if g.Phase != PhasePick {
		return "", fmt.Errorf("%w: pick in phase %d", ErrBadMove, g.Phase)
	}
	q, err := g.Pos.Pick(m.cfg.K, p.Part)
	if err != nil {
		return "", err
	}
	if p.Part > 0 {
		g.LoLeaf = g.Points[p.Part-1]
	}
	if p.Part < uint64(len(g.Points)) {
		g.HiLeaf = g.Points[p.Part]
	}
	g.Pos, g.Points, g.Phase = q, nil, m.nextPhase(q)
	g.Rounds++
	return "pick", nil
}

// below returns the transitions of the level below the narrowed position p.
func below(vm VM, p Position) uint64 {
	if p.Level == LevelStep {
		return vm.Instrs()
	}
	return vm.Chunks(p.Lo)
}

func (m *Machine) descend(vm VM, g *Game, d Descend) (string, error) {
	if g.Phase != PhaseDescend {
		return "", fmt.Errorf("%w: descend in phase %d", ErrBadMove, g.Phase)
	}
	n := below(vm, g.Pos)
	q, err := g.Pos.Descend(n)
	if err != nil {
		return "", err
	}
	if !verify(d.Root, g.LoLeaf, 0, n+1, d.StartProof) || !verify(d.Root, g.HiLeaf, n, n+1, d.ClaimProof) {
		return "", fmt.Errorf("%w: the %s level's ends do not match the agreed and disputed leaves", ErrBadProof, q.Level)
	}
	g.Pos, g.Root, g.Phase = q, d.Root, m.nextPhase(q)
	g.Rounds++
	return "descend", nil
}

func (m *Machine) prove(vm VM, g *Game, p Prove) (Side, error) {
	if g.Phase != PhaseProve {
		return 0, fmt.Errorf("%w: prove in phase %d", ErrBadMove, g.Phase)
	}
	post, flops, err := vm.Check(Path{Step: g.Pos.Step, Instr: g.Pos.Instr, Chunk: g.Pos.Lo}, g.LoLeaf, p.Witness)
	if err != nil {
		if !errors.Is(err, ErrBadProof) {
			err = fmt.Errorf("%w: %w", ErrBadProof, err)
		}
		return 0, err
	}
	g.RefereeFLOPs = flops
	if post == g.HiLeaf {
		return Defender, nil
	}
	return Challenger, nil
}

// BondFor returns the bond a move must escrow when it leaves game g (its state after the
// move) waiting for its next move: Config.Bond plus Costs.Unit times the units of that reply
// (Costs.ReplyUnits). The game's VM must resolve.
func (m *Machine) BondFor(g Game) (uint256.Int, error) {
	vm, err := m.vmOf(g.Program)
	if err != nil {
		return uint256.Int{}, err
	}
	return m.bondFor(vm, &g)
}

func (m *Machine) bondFor(vm VM, g *Game) (uint256.Int, error) {
	b := m.cfg.Bond
	if m.cfg.Costs.Unit.IsZero() {
		return b, nil
	}
	u := m.cfg.Costs.ReplyUnits(m.cfg.K, g.Phase, g.Pos, levelLen(vm, g.Steps, g.Pos), replyBelow(vm, g))
	var c uint256.Int
	if _, o := c.MulOverflow(&m.cfg.Costs.Unit, uint256.NewInt(u)); o {
		return b, fmt.Errorf("%w: bond of %d units overflows", ErrStake, u)
	}
	if _, o := b.AddOverflow(&b, &c); o {
		return b, fmt.Errorf("%w: bond overflows", ErrStake)
	}
	return b, nil
}

// replyBelow returns the transitions of the level a descent from g would commit (0 when g
// does not wait for a descent).
func replyBelow(vm VM, g *Game) uint64 {
	if g.Phase != PhaseDescend {
		return 0
	}
	return below(vm, g.Pos)
}

// bond escrows the bond for the move just applied to g (g is its state after the move).
func (m *Machine) bond(env sm.Env, vm VM, g *Game, sender stake.Address) ([]sm.Event, error) {
	amt, err := m.bondFor(vm, g)
	if err != nil || amt.IsZero() {
		return nil, err
	}
	var b [72]byte
	copy(b[:], "deai/dispute/bond/v1")
	copy(b[32:], g.ID[:])
	putU64(b[64:], g.Moves)
	id := sha(b[:])
	evs, err := m.ledger.ApplyOp(env, sender, stake.EscrowCreate{ID: id, Arbiter: m.cfg.Self, Amount: amt})
	if err != nil {
		return nil, fmt.Errorf("%w: bond: %w", ErrStake, err)
	}
	g.Bonds = append(g.Bonds, id)
	return evs, nil
}

// resolve ends g with winner: every bond goes to the winner, the loser is slashed. A game
// over a forced-error task's result also settles its challenger's claim on the task.
func (m *Machine) resolve(env sm.Env, g *Game, winner Side, why string) ([]sm.Event, error) {
	g.Winner, g.Phase, g.Points = winner, PhaseDone, nil
	var evs []sm.Event
	w, l := g.party(winner), g.party(3-winner)
	if m.ledger != nil {
		for _, id := range g.Bonds {
			e, ok := m.ledger.Escrow(id)
			if !ok {
				return nil, fmt.Errorf("%w: settle bond %x: no escrow", ErrStake, id[:8])
			}
			ev, err := m.ledger.ApplyOp(env, m.cfg.Self, stake.EscrowRelease{ID: id, Payouts: []stake.PayTo{{To: w, Amount: e.Amount}}})
			if err != nil {
				return nil, fmt.Errorf("%w: settle bond: %w", ErrStake, err)
			}
			evs = append(evs, ev...)
		}
		ev, err := m.slash(env, l, w)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev...)
	}
	var t *Task
	if g.Task != ([32]byte{}) {
		var ev []sm.Event
		var err error
		if t, ev, err = m.gameEnded(env, g); err != nil {
			return nil, err
		}
		evs = append(evs, ev...)
	}
	m.games[g.ID] = g
	if t != nil {
		m.tasks[t.ID] = t
	}
	ev := event("resolve", g)
	ev.Data = append(ev.Data, []byte(why)...)
	return append(evs, ev), nil
}

// slash slashes loser's bonded stake by Config.SlashNum/SlashDen, rewarding beneficiary;
// nothing when slashing is off or the loser has nothing bonded.
func (m *Machine) slash(env sm.Env, loser, beneficiary stake.Address) ([]sm.Event, error) {
	if m.ledger == nil || m.cfg.SlashNum == 0 {
		return nil, nil
	}
	if acc := m.ledger.Account(loser); acc.Bonded.IsZero() {
		return nil, nil
	}
	e, err := m.ledger.ApplyOp(env, m.cfg.Self, stake.Slash{Target: loser, Num: m.cfg.SlashNum, Den: m.cfg.SlashDen,
		Beneficiary: beneficiary, RewardBps: m.cfg.SlashRewardBps, Treasury: stake.TreasuryJackpot})
	if err != nil {
		return nil, fmt.Errorf("%w: slash: %w", ErrStake, err)
	}
	return e, nil
}

func event(kind string, g *Game) sm.Event {
	d := append([]byte(nil), g.ID[:]...)
	d = append(d, byte(g.Pos.Level), byte(g.Phase), byte(g.Winner))
	return sm.Event{Machine: Name, Kind: kind, Data: d}
}

func putU64(b []byte, x uint64) {
	for i := range 8 {
		b[i] = byte(x >> (56 - 8*i))
	}
}

// exported is the canonical state: games and tasks sorted by id. A state without tasks
// encodes as it did before tasks existed.
type exported struct {
	Version int
	Games   []Game
	Tasks   []Task `json:",omitempty"`
}

func sortedIDs[V any](m map[[32]byte]V) [][32]byte {
	ids := make([][32]byte, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// Export implements sm.Machine: canonical JSON of every game and task, sorted by id.
func (m *Machine) Export() ([]byte, error) {
	ids := sortedIDs(m.games)
	st := exported{Version: 1, Games: make([]Game, len(ids))}
	for i, id := range ids {
		st.Games[i] = m.games[id].clone()
	}
	for _, id := range sortedIDs(m.tasks) {
		st.Tasks = append(st.Tasks, m.tasks[id].clone())
	}
	return json.Marshal(st)
}

// Import implements sm.Machine. It accepts only what Export produces.
func (m *Machine) Import(state []byte) error {
	var st exported
	if err := json.Unmarshal(state, &st); err != nil || st.Version != 1 {
		return fmt.Errorf("%w: state: %v", ErrEncoding, err)
	}
	games := make(map[[32]byte]*Game, len(st.Games))
	for i := range st.Games {
		g := st.Games[i]
		games[g.ID] = &g
	}
	tasks := make(map[[32]byte]*Task, len(st.Tasks))
	for i := range st.Tasks {
		t := st.Tasks[i]
		tasks[t.ID] = &t
	}
	tmp := &Machine{cfg: m.cfg, ledger: m.ledger, games: games, tasks: tasks}
	again, err := tmp.Export()
	if err != nil || !bytes.Equal(again, state) {
		return fmt.Errorf("%w: state is not canonical", ErrEncoding)
	}
	m.games, m.tasks = games, tasks
	return nil
}

// Root implements sm.Machine: SHA-256 of a domain tag and the export.
func (m *Machine) Root() [32]byte {
	b, _ := m.Export()
	return sha(append([]byte("deai/dispute/state/v1\x00"), b...))
}

// Query implements sm.Machine: a 32-byte game id returns the game as JSON; the byte 'T'
// followed by a 32-byte task id returns the task as JSON.
func (m *Machine) Query(q []byte) ([]byte, error) {
	if len(q) == 33 && q[0] == 'T' {
		t, ok := m.tasks[[32]byte(q[1:])]
		if !ok {
			return nil, ErrNoTask
		}
		return json.Marshal(t)
	}
	if len(q) != 32 {
		return nil, fmt.Errorf("%w: query of %d bytes, want a 32-byte game id or 'T' and a task id", ErrEncoding, len(q))
	}
	g, ok := m.games[[32]byte(q)]
	if !ok {
		return nil, ErrNoGame
	}
	return json.Marshal(g)
}

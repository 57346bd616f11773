package dispute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Forced configures forced-error tasks (Truebit): a solver sometimes must post a wrong
// result, so that verifiers who check find errors often enough to be paid for checking.
// Its zero value gives tasks that are never forced and move no tokens.
type Forced struct {
	// RateNum/RateDen is ρ, the probability that a task is forced. Zero: never.
	RateNum, RateDen uint64
	// Jackpot is J, what a caught forced error pays before the cap of a third of the
	// jackpot treasury (Payout); size it with Jackpot.Size: J ≥ (1 + margin)·c/ρ.
	Jackpot uint256.Int
	// Fee is what a solver pays into the jackpot treasury with each Commit.
	Fee uint256.Int
	// Deposit is what each challenger escrows with its Challenge: refunded when the
	// challenge was right (forced error, wrong result), paid to the solver when it was wrong.
	Deposit uint256.Int
	// Window is the challenge window after a Post, RevealWindow the solver's time to reveal
	// after it, DisputeWindow the challengers' time to open games after a reveal, in seconds
	// of chain time. Each defaults to 3600.
	Window, RevealWindow, DisputeWindow uint64
	// SplitNum/SplitDen is the ratio r of the Sybil-proof split (Split); default 1/2, at
	// most 1/2.
	SplitNum, SplitDen uint64
	// MaxChallengers bounds the challengers of one task (in challenge order). Default 64, at
	// most stake.MaxPayouts.
	MaxChallengers int
}

// EnsureDefaults returns f with defaults filled in.
func (f Forced) EnsureDefaults() Forced {
	for _, w := range []*uint64{&f.Window, &f.RevealWindow, &f.DisputeWindow} {
		if *w == 0 {
			*w = 3600
		}
	}
	if f.SplitDen == 0 {
		f.SplitNum, f.SplitDen = 1, 2
	}
	if f.MaxChallengers == 0 {
		f.MaxChallengers = 64
	}
	return f
}

// Validate reports every problem with f (after EnsureDefaults) at once.
func (f Forced) Validate() error {
	var errs []error
	if f.RateNum > f.RateDen {
		errs = append(errs, fmt.Errorf("%w: forced-error rate %d/%d", ErrConfig, f.RateNum, f.RateDen))
	}
	if f.SplitDen != 0 && f.SplitNum > f.SplitDen/2 {
		errs = append(errs, fmt.Errorf("%w: split ratio %d/%d above 1/2 is not Sybil-proof", ErrConfig, f.SplitNum, f.SplitDen))
	}
	if f.MaxChallengers < 0 || f.MaxChallengers > stake.MaxPayouts {
		errs = append(errs, fmt.Errorf("%w: %d challengers per task", ErrConfig, f.MaxChallengers))
	}
	return errors.Join(errs...)
}

// moves reports whether tasks move tokens.
func (f Forced) moves() bool {
	return !f.Fee.IsZero() || !f.Deposit.IsZero() || !f.Jackpot.IsZero()
}

// TaskStatus is where a forced-error task stands.
type TaskStatus uint8

// The task statuses; Accepted, ForcedError and Wrong are final.
const (
	// TaskCommitted: sealed, waiting for the result (Post).
	TaskCommitted TaskStatus = 1
	// TaskPosted: the result is public; challenges until Forced.Window, then the reveal.
	TaskPosted TaskStatus = 2
	// TaskDisputed: revealed, not forced, consistent, and challenged: the challengers may
	// open games (Open.Task) until Forced.DisputeWindow after the reveal.
	TaskDisputed TaskStatus = 3
	// TaskAccepted: the result stands (unchallenged, or every challenge lost or lapsed).
	TaskAccepted TaskStatus = 4
	// TaskForcedError: a forced error, revealed in time: the challengers shared the jackpot
	// and the solver is not slashed.
	TaskForcedError TaskStatus = 5
	// TaskWrong: the result is wrong: not revealed in time, a forced task with the correct
	// result posted, a revealed correct result that differs from the posted one, or a game
	// the solver lost. The solver is slashed; the challengers' deposits are refunded.
	TaskWrong TaskStatus = 6
)

// String returns the status's name.
func (s TaskStatus) String() string {
	switch s {
	case TaskCommitted:
		return "committed"
	case TaskPosted:
		return "posted"
	case TaskDisputed:
		return "disputed"
	case TaskAccepted:
		return "accepted"
	case TaskForcedError:
		return "forced error"
	case TaskWrong:
		return "wrong"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

func (s TaskStatus) final() bool { return s >= TaskAccepted }

// ClaimStatus is where one challenger's claim on a task stands.
type ClaimStatus uint8

// The claim statuses.
const (
	// ClaimPending: not decided yet.
	ClaimPending ClaimStatus = 1
	// ClaimPaid: the task was a forced error; the challenger received its jackpot share and
	// its deposit back.
	ClaimPaid ClaimStatus = 2
	// ClaimRefunded: the task's result was wrong; the deposit came back.
	ClaimRefunded ClaimStatus = 3
	// ClaimLost: the challenger lost its game or opened none in time; its deposit went to
	// the solver.
	ClaimLost ClaimStatus = 4
)

// Claim is one challenger of a task, in challenge order.
type Claim struct {
	Who  stake.Address
	Time uint64
	// Deposit is the escrow holding the challenger's deposit (zero: none).
	Deposit [32]byte `json:",omitzero"`
	// Game is the game the challenger opened over the result (zero: none).
	Game   [32]byte `json:",omitzero"`
	Status ClaimStatus
}

// Task is one forced-error task's state. The lifecycle: Commit (the solver seals the correct
// result and a secret) → Post, in a later block (the result; the block's beacon fixes the
// draw) → Challenge, by anyone, within Forced.Window → Reveal, by the solver, after the
// window and within Forced.RevealWindow, which settles:
//
//   - forced and the posted result differs from the sealed correct one: a forced error.
//     The jackpot pays Payout(pool, J) = min(J, pool/3) out of stake.TreasuryJackpot, split
//     among the challengers by Split; deposits are refunded; the solver is not slashed.
//   - forced but the correct result was posted, or not forced and the posted result differs
//     from the sealed one: wrong (slashed as a loser, the first challenger rewarded).
//   - not forced and consistent: accepted if nobody challenged, else disputed: each
//     challenger may open a game over the result (Open.Task); a game the solver loses makes
//     the task wrong, a game the challenger loses gives its deposit to the solver.
//
// Finalize ends a task whose solver did not reveal in time (wrong) or whose dispute window
// closed with no game pending (accepted; challengers who opened no game lose their deposit).
// Each task move emits an event of its kind (commit, post, challenge, reveal, finalize) whose
// data is the task id, the status byte and the number of challengers, after the ledger's.
type Task struct {
	ID     [32]byte
	Solver stake.Address
	Seal   Hash
	// Height is the block of the Commit; the Post must come in a later one.
	Height uint64
	Result Hash     `json:",omitzero"`
	Beacon [32]byte `json:",omitzero"`
	// Posted and Revealed are the chain times of the Post and the Reveal.
	Posted   uint64 `json:",omitzero"`
	Revealed uint64 `json:",omitzero"`
	// Forced is the draw, known on chain from the Reveal on.
	Forced      bool `json:",omitzero"`
	Status      TaskStatus
	Challengers []Claim `json:",omitempty"`
}

func (t *Task) clone() Task {
	c := *t
	c.Challengers = slices.Clone(t.Challengers)
	return c
}

// Task returns a copy of task id.
func (m *Machine) Task(id [32]byte) (Task, bool) {
	t, ok := m.tasks[id]
	if !ok {
		return Task{}, false
	}
	return t.clone(), true
}

// Seal returns the commitment a solver posts with Commit: SHA-256 of a domain tag, the
// task id, its secret and the correct result.
func Seal(task [32]byte, secret, correct Hash) Hash {
	b := make([]byte, 0, 24+96)
	b = append(b, "deai/dispute/seal/v1\x00"...)
	b = append(b, task[:]...)
	b = append(b, secret[:]...)
	b = append(b, correct[:]...)
	return sha(b)
}

// ForcedDraw reports whether task is forced: u < ρ·2^64 in effect, where u is the first 8
// bytes (big-endian) of SHA-256 of a domain tag, the task id, the solver's sealed secret and
// the beacon of the Post's block, and ρ = num/den (false when den is 0). Nobody can know
// the draw before the beacon exists, which is after the commitment, and nobody but the
// solver knows it before the reveal.
func ForcedDraw(task [32]byte, secret Hash, beacon [32]byte, num, den uint64) bool {
	if den == 0 || num == 0 {
		return false
	}
	b := make([]byte, 0, 24+96)
	b = append(b, "deai/dispute/forced/v1\x00"...)
	b = append(b, task[:]...)
	b = append(b, secret[:]...)
	b = append(b, beacon[:]...)
	h := sha(b)
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(h[:8]), den)
	return hi < num // ⌊u·den/2^64⌋ < num ⇔ u < num·2^64/den
}

// WrongResult returns the deliberately wrong result a forced solver posts for correct.
func WrongResult(correct Hash) Hash {
	return sha(append([]byte("deai/dispute/wrong/v1\x00"), correct[:]...))
}

func (m *Machine) task(env sm.Env, sender stake.Address, mv Move) ([]sm.Event, error) {
	if c, ok := mv.(Commit); ok {
		return m.commit(env, sender, c)
	}
	id := mv.game()
	t0, ok := m.tasks[id]
	if !ok || t0.Status.final() {
		return nil, fmt.Errorf("%w: %x", ErrNoTask, id[:8])
	}
	t := t0.clone() // work on a copy: commit only on success
	var evs []sm.Event
	var kind string
	var err error
	switch v := mv.(type) {
	case Post:
		kind, err = m.post(env, sender, &t, v)
	case Challenge:
		kind = "challenge"
		evs, err = m.challenge(env, sender, &t)
	case Reveal:
		kind = "reveal"
		evs, err = m.reveal(env, sender, &t, v)
	case Finalize:
		kind = "finalize"
		evs, err = m.finalize(env, &t)
	default:
		err = fmt.Errorf("%w: unknown move %T", ErrBadMove, mv)
	}
	if err != nil {
		return nil, err
	}
	*t0 = t
	return append(evs, taskEvent(kind, &t)), nil
}

func taskEvent(kind string, t *Task) sm.Event {
	d := append([]byte(nil), t.ID[:]...)
	d = append(d, byte(t.Status), byte(len(t.Challengers)))
	return sm.Event{Machine: Name, Kind: kind, Data: d}
}

func (m *Machine) commit(env sm.Env, sender stake.Address, c Commit) ([]sm.Event, error) {
	if _, ok := m.tasks[c.Task]; ok {
		return nil, fmt.Errorf("%w: task %x exists", ErrBadMove, c.Task[:8])
	}
	t := &Task{ID: c.Task, Solver: sender, Seal: c.Seal, Height: env.Height, Status: TaskCommitted}
	var evs []sm.Event
	if fee := m.cfg.Forced.Fee; !fee.IsZero() {
		e, err := m.ledger.ApplyOp(env, sender, stake.Fund{Treasury: stake.TreasuryJackpot, Amount: fee})
		if err != nil {
			return nil, fmt.Errorf("%w: task fee: %w", ErrStake, err)
		}
		evs = e
	}
	m.tasks[c.Task] = t
	return append(evs, taskEvent("commit", t)), nil
}

func (m *Machine) post(env sm.Env, sender stake.Address, t *Task, p Post) (string, error) {
	if sender != t.Solver {
		return "", fmt.Errorf("%w: post by %s, solver %s", ErrBadMove, sender, t.Solver)
	}
	if t.Status != TaskCommitted {
		return "", fmt.Errorf("%w: post in status %s", ErrBadMove, t.Status)
	}
	if env.Height <= t.Height {
		return "", fmt.Errorf("%w: post at height %d, not after the commit's %d", ErrBadMove, env.Height, t.Height)
	}
	t.Result, t.Beacon, t.Posted, t.Status = p.Result, env.Beacon, env.Time, TaskPosted
	return "post", nil
}

// after returns t + d, saturating.
func after(t, d uint64) uint64 { return satAdd(t, d) }

func (m *Machine) challenge(env sm.Env, sender stake.Address, t *Task) ([]sm.Event, error) {
	if t.Status != TaskPosted {
		return nil, fmt.Errorf("%w: challenge in status %s", ErrBadMove, t.Status)
	}
	if sender == t.Solver {
		return nil, fmt.Errorf("%w: a solver cannot challenge itself", ErrBadMove)
	}
	if env.Time < t.Posted || env.Time > after(t.Posted, m.cfg.Forced.Window) {
		return nil, fmt.Errorf("%w: challenge at %d outside the window [%d, %d]", ErrClock, env.Time, t.Posted, after(t.Posted, m.cfg.Forced.Window))
	}
	for _, c := range t.Challengers {
		if c.Who == sender {
			return nil, fmt.Errorf("%w: %s already challenged", ErrBadMove, sender)
		}
	}
	if len(t.Challengers) >= m.cfg.Forced.MaxChallengers {
		return nil, fmt.Errorf("%w: %d challengers already", ErrBadMove, len(t.Challengers))
	}
	c := Claim{Who: sender, Time: env.Time, Status: ClaimPending}
	var evs []sm.Event
	if dep := m.cfg.Forced.Deposit; !dep.IsZero() {
		b := make([]byte, 0, 24+52)
		b = append(b, "deai/dispute/deposit/v1\x00"...)
		b = append(b, t.ID[:]...)
		b = append(b, sender[:]...)
		c.Deposit = sha(b)
		e, err := m.ledger.ApplyOp(env, sender, stake.EscrowCreate{ID: c.Deposit, Arbiter: m.cfg.Self, Amount: dep})
		if err != nil {
			return nil, fmt.Errorf("%w: deposit: %w", ErrStake, err)
		}
		evs = e
	}
	t.Challengers = append(t.Challengers, c)
	return evs, nil
}

func (m *Machine) reveal(env sm.Env, sender stake.Address, t *Task, r Reveal) ([]sm.Event, error) {
	if sender != t.Solver {
		return nil, fmt.Errorf("%w: reveal by %s, solver %s", ErrBadMove, sender, t.Solver)
	}
	if t.Status != TaskPosted {
		return nil, fmt.Errorf("%w: reveal in status %s", ErrBadMove, t.Status)
	}
	open, shut := after(t.Posted, m.cfg.Forced.Window), after(after(t.Posted, m.cfg.Forced.Window), m.cfg.Forced.RevealWindow)
	if env.Time <= open || env.Time > shut {
		return nil, fmt.Errorf("%w: reveal at %d outside (%d, %d]", ErrClock, env.Time, open, shut)
	}
	if Seal(t.ID, r.Secret, r.Correct) != t.Seal {
		return nil, fmt.Errorf("%w: the reveal does not open the seal", ErrBadProof)
	}
	t.Forced = ForcedDraw(t.ID, r.Secret, t.Beacon, m.cfg.Forced.RateNum, m.cfg.Forced.RateDen)
	t.Revealed = env.Time
	switch {
	case t.Forced && t.Result != r.Correct:
		return m.payJackpot(env, t)
	case t.Forced || t.Result != r.Correct:
		return m.wrong(env, t, true)
	case len(t.Challengers) == 0:
		t.Status = TaskAccepted
		return nil, nil
	}
	t.Status = TaskDisputed
	return nil, nil
}

func (m *Machine) finalize(env sm.Env, t *Task) ([]sm.Event, error) {
	switch t.Status {
	case TaskPosted:
		if shut := after(after(t.Posted, m.cfg.Forced.Window), m.cfg.Forced.RevealWindow); env.Time <= shut {
			return nil, fmt.Errorf("%w: the solver may reveal until %d", ErrClock, shut)
		}
		return m.wrong(env, t, true)
	case TaskDisputed:
		if shut := after(t.Revealed, m.cfg.Forced.DisputeWindow); env.Time <= shut {
			return nil, fmt.Errorf("%w: challengers may open games until %d", ErrClock, shut)
		}
		for _, c := range t.Challengers {
			if c.Status == ClaimPending && c.Game != ([32]byte{}) {
				return nil, fmt.Errorf("%w: game %x is pending", ErrClock, c.Game[:8])
			}
		}
		var evs []sm.Event
		for i := range t.Challengers {
			if t.Challengers[i].Status != ClaimPending {
				continue
			}
			e, err := m.forfeit(env, t, i)
			if err != nil {
				return nil, err
			}
			evs = append(evs, e...)
		}
		t.Status = TaskAccepted
		return evs, nil
	}
	return nil, fmt.Errorf("%w: finalize in status %s", ErrBadMove, t.Status)
}

// payJackpot settles a revealed forced error: min(J, pool/3) out of the jackpot treasury,
// split among the challengers (Split), and their deposits back.
func (m *Machine) payJackpot(env sm.Env, t *Task) ([]sm.Event, error) {
	t.Status = TaskForcedError
	var evs []sm.Event
	if m.ledger != nil && len(t.Challengers) > 0 {
		pool := m.ledger.Treasury(stake.TreasuryJackpot)
		total := Payout(&pool, &m.cfg.Forced.Jackpot)
		shares := Split(&total, len(t.Challengers), m.cfg.Forced.SplitNum, m.cfg.Forced.SplitDen)
		for i, s := range shares {
			if s.IsZero() {
				continue
			}
			e, err := m.ledger.ApplyOp(env, m.cfg.Self, stake.Payout{Treasury: stake.TreasuryJackpot, Total: s,
				Recipients: []stake.Share{{To: t.Challengers[i].Who, Weight: 1}}})
			if err != nil {
				return nil, fmt.Errorf("%w: jackpot: %w", ErrStake, err)
			}
			evs = append(evs, e...)
		}
	}
	for i := range t.Challengers {
		e, err := m.refund(env, t, i, ClaimPaid)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	return evs, nil
}

// wrong settles a task whose result is wrong: every pending deposit back and, when slash
// is set, the solver slashed with the first challenger rewarded.
func (m *Machine) wrong(env sm.Env, t *Task, slash bool) ([]sm.Event, error) {
	t.Status = TaskWrong
	var evs []sm.Event
	for i := range t.Challengers {
		if t.Challengers[i].Status != ClaimPending {
			continue
		}
		e, err := m.refund(env, t, i, ClaimRefunded)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	if slash && m.ledger != nil && m.cfg.SlashNum > 0 {
		if len(t.Challengers) > 0 {
			e, err := m.slash(env, t.Solver, t.Challengers[0].Who)
			return append(evs, e...), err
		}
		if acc := m.ledger.Account(t.Solver); !acc.Bonded.IsZero() {
			e, err := m.ledger.ApplyOp(env, m.cfg.Self, stake.Slash{Target: t.Solver, Num: m.cfg.SlashNum, Den: m.cfg.SlashDen,
				Beneficiary: m.cfg.Self, Treasury: stake.TreasuryJackpot})
			if err != nil {
				return nil, fmt.Errorf("%w: slash: %w", ErrStake, err)
			}
			evs = append(evs, e...)
		}
	}
	return evs, nil
}

// refund returns claim i's deposit to its challenger and sets its status.
func (m *Machine) refund(env sm.Env, t *Task, i int, st ClaimStatus) ([]sm.Event, error) {
	c := &t.Challengers[i]
	c.Status = st
	if c.Deposit == ([32]byte{}) || m.ledger == nil {
		return nil, nil
	}
	e, err := m.ledger.ApplyOp(env, m.cfg.Self, stake.EscrowRefund{ID: c.Deposit})
	if err != nil {
		return nil, fmt.Errorf("%w: refund deposit: %w", ErrStake, err)
	}
	return e, nil
}

// forfeit pays claim i's deposit to the solver.
func (m *Machine) forfeit(env sm.Env, t *Task, i int) ([]sm.Event, error) {
	c := &t.Challengers[i]
	c.Status = ClaimLost
	if c.Deposit == ([32]byte{}) || m.ledger == nil {
		return nil, nil
	}
	esc, ok := m.ledger.Escrow(c.Deposit)
	if !ok {
		return nil, fmt.Errorf("%w: deposit %x: no escrow", ErrStake, c.Deposit[:8])
	}
	e, err := m.ledger.ApplyOp(env, m.cfg.Self, stake.EscrowRelease{ID: c.Deposit, Payouts: []stake.PayTo{{To: t.Solver, Amount: esc.Amount}}})
	if err != nil {
		return nil, fmt.Errorf("%w: forfeit deposit: %w", ErrStake, err)
	}
	return e, nil
}

// taskForGame checks an Open over a disputed task's result and returns the task with the
// sender's claim linked to the game (not yet committed).
func (m *Machine) taskForGame(env sm.Env, sender stake.Address, o Open) (*Task, error) {
	t0, ok := m.tasks[o.Task]
	if !ok || t0.Status != TaskDisputed {
		return nil, fmt.Errorf("%w: %x is not a disputed task", ErrNoTask, o.Task[:8])
	}
	if env.Time > after(t0.Revealed, m.cfg.Forced.DisputeWindow) {
		return nil, fmt.Errorf("%w: the dispute window of task %x closed", ErrClock, o.Task[:8])
	}
	if o.Defender != t0.Solver || o.Root != t0.Result {
		return nil, fmt.Errorf("%w: the game must dispute the solver's posted result", ErrBadMove)
	}
	t := t0.clone()
	for i := range t.Challengers {
		if c := &t.Challengers[i]; c.Who == sender {
			if c.Status != ClaimPending || c.Game != ([32]byte{}) {
				return nil, fmt.Errorf("%w: %s already disputed task %x", ErrBadMove, sender, o.Task[:8])
			}
			c.Game = o.Game
			return &t, nil
		}
	}
	return nil, fmt.Errorf("%w: %s did not challenge task %x", ErrBadMove, sender, o.Task[:8])
}

// gameEnded settles the claim of ended game g on its task and returns the task (not yet
// committed): a challenger who won makes the task wrong (the game already slashed the
// solver); one who lost forfeits its deposit, and the task is accepted once no claim is
// pending.
func (m *Machine) gameEnded(env sm.Env, g *Game) (*Task, []sm.Event, error) {
	t0, ok := m.tasks[g.Task]
	if !ok {
		return nil, nil, fmt.Errorf("%w: game %x names task %x", ErrNoTask, g.ID[:8], g.Task[:8])
	}
	t := t0.clone()
	i := slices.IndexFunc(t.Challengers, func(c Claim) bool { return c.Game == g.ID })
	if i < 0 || t.Challengers[i].Status != ClaimPending {
		return &t, nil, nil // already settled with the task
	}
	var evs []sm.Event
	var err error
	if g.Winner == Challenger {
		evs, err = m.wrong(env, &t, false)
	} else {
		evs, err = m.forfeit(env, &t, i)
		if err == nil && !slices.ContainsFunc(t.Challengers, func(c Claim) bool { return c.Status == ClaimPending }) {
			t.Status = TaskAccepted
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return &t, evs, nil
}

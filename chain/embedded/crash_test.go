//go:build linux

package embedded

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

const crashKeys = 4

func crashSetup(t testing.TB) ([]*ecdsa.PrivateKey, stake.Genesis) {
	var keys []*ecdsa.PrivateKey
	var g stake.Genesis
	g.Params.UnbondingPeriod = 1
	for i := range crashKeys {
		k, err := chain.KeyFromSeed(fmt.Sprintf("crash/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: stake.Address(chain.KeyAddress(k)), Balance: *uint256.NewInt(1 << 40)})
	}
	return keys, g
}

// TestHelperProcess is the child of TestCrash: it commits transactions from several
// goroutines with group commit and prints "ack <hash>" for each one WaitIncluded
// acknowledged, until it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("DEAI_EMBEDDED_CRASH_DB")
	if path == "" {
		return
	}
	keys, g := crashSetup(t)
	c, err := Open(Config{Path: path, Machines: []sm.Machine{newLedger(t, g)}, AutoCommit: true, SnapshotInterval: 16})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(i)))
			for {
				n, err := c.Nonce(ctx, chain.KeyAddress(k))
				if err != nil {
					os.Exit(4)
				}
				to := stake.Address(chain.KeyAddress(keys[r.IntN(len(keys))]))
				var op stake.Op = stake.Transfer{To: to, Amount: *uint256.NewInt(1 + r.Uint64N(1000))}
				switch r.IntN(4) {
				case 0:
					op = stake.Bond{Amount: *uint256.NewInt(1 + r.Uint64N(100))}
				case 1:
					op = stake.Unbond{Amount: *uint256.NewInt(1 + r.Uint64N(100))}
				}
				p, _ := stake.EncodeOp(op)
				tx, err := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: n, Machine: stake.Name, Payload: p}, k)
				if err != nil {
					os.Exit(5)
				}
				h, err := c.Submit(ctx, tx)
				if err != nil {
					fmt.Fprintln(os.Stderr, "submit:", err)
					os.Exit(6)
				}
				if _, err := c.WaitIncluded(ctx, h); err != nil {
					fmt.Fprintln(os.Stderr, "wait:", err)
					os.Exit(7)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %x\n", h[:])
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a child process that is committing transactions with SIGKILL at random
// points, 100 times (10 with -short), and after each kill reopens the store: every
// acknowledged transaction must be there, the replayed roots must match (Open checks every
// block after the snapshot), and every few rounds a full replay from genesis on a fresh
// ledger must give the live state root. Rationale: a transaction acknowledged to a user is
// never lost, and a block is all there or not at all.
func TestCrash(t *testing.T) {
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	keys, g := crashSetup(t)
	_ = keys
	r := rand.New(rand.NewPCG(2026, 4))
	acked := map[chain.Hash]bool{}
	var total, emptyRounds int
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DEAI_EMBEDDED_CRASH_DB="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			if round == 0 && errors.Is(err, syscall.ENOEXEC) {
				t.Skipf("cannot re-execute the test binary (%v): an emulated architecture", err)
			}
			t.Fatal(err)
		}
		// Kill after a random number of acknowledgements (0: during start-up or the first
		// commits), or after a random delay, whichever comes first.
		target := r.IntN(200)
		delay := time.Duration(1+r.IntN(120)) * time.Millisecond
		switch r.IntN(8) {
		case 0:
			target, delay = -1, time.Duration(r.IntN(4))*time.Millisecond
		case 1, 2, 3:
			target = -1
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		n := 0
		killed := false
		kill := func() {
			if !killed {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		timer := time.NewTimer(delay)
		if target >= 0 {
			timer.Reset(30 * time.Second)
		}
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				hexHash, found := strings.CutPrefix(line, "ack ")
				b, err := hex.DecodeString(hexHash)
				if !found || err != nil || len(b) != 32 {
					t.Fatalf("round %d: child printed %q", round, line)
				}
				acked[chain.Hash(b)] = true
				n++
				if target >= 0 && n >= target {
					kill()
				}
			case <-timer.C:
				kill()
			}
		}
		timer.Stop()
		kill()
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not SIGKILL; stderr:\n%s", round, err, stderr.String())
		}
		if n == 0 {
			emptyRounds++
		}
		total += n

		ledger := newLedger(t, g)
		c, err := Open(Config{Path: path, Machines: []sm.Machine{ledger}})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		ctx := t.Context()
		for h := range acked {
			if _, err := c.Receipt(ctx, h); err != nil {
				t.Fatalf("round %d: acknowledged transaction %s lost: %v", round, h, err)
			}
		}
		if err := ledger.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round%10 == 9 || round == rounds-1 {
			fullReplay(t, c, g, ledger)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds, %d acknowledged transactions, %d rounds killed before any acknowledgement", rounds, total, emptyRounds)
}

// fullReplay replays every stored block from genesis on a fresh ledger, checking nonces,
// receipts and the final root against the live chain.
func fullReplay(t *testing.T, c *Chain, g stake.Genesis, live *stake.Ledger) {
	t.Helper()
	ctx := t.Context()
	fresh := newLedger(t, g)
	head, err := c.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nonces := map[chain.Address]uint64{}
	var parent chain.Header
	for h := uint64(0); h <= head.Height; h++ {
		b, err := c.Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if h > 0 && b.Header.Parent != parent.Hash() {
			t.Fatalf("block %d does not follow its parent", h)
		}
		parent = b.Header
		env := sm.Env{ChainID: c.ChainID(), Height: h, Time: b.Header.Time, Beacon: b.Header.Parent}
		for i, tx := range b.Txs {
			sender, err := tx.Sender()
			if err != nil || sender != b.Receipts[i].Sender {
				t.Fatalf("block %d tx %d: sender %s (%v), receipt says %s", h, i, sender, err, b.Receipts[i].Sender)
			}
			if tx.Nonce != nonces[sender] {
				t.Fatalf("block %d tx %d: nonce %d, want %d", h, i, tx.Nonce, nonces[sender])
			}
			nonces[sender]++
			_, err = fresh.Apply(env, sender, tx.Payload)
			if (err == nil) != (b.Receipts[i].Status == chain.Succeeded) {
				t.Fatalf("block %d tx %d: replay gives %v, receipt %+v", h, i, err, b.Receipts[i])
			}
		}
	}
	if fresh.Root() != live.Root() {
		t.Fatalf("full replay root %x != live root %x", fresh.Root(), live.Root())
	}
}

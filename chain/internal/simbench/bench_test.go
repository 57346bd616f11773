package simbench

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/embedded"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/holiman/uint256"
)

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds tx/s (wall clock) and cpu-µs/tx (all cores, load-independent) metrics.
func report(b *testing.B, txs int, cpu time.Duration) {
	b.ReportMetric(float64(txs)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(txs), "cpu-µs/tx")
}

// senders is the number of concurrent senders (keys) in both benchmarks.
const senders = 64

func keys(b *testing.B) []*ecdsa.PrivateKey {
	ks := make([]*ecdsa.PrivateKey, senders)
	for i := range ks {
		k, err := chain.KeyFromSeed(fmt.Sprintf("simbench/%d", i))
		if err != nil {
			b.Fatal(err)
		}
		ks[i] = k
	}
	return ks
}

// BenchmarkCommit compares durable group commit on the embedded chain (bbolt, fsync per
// block, AutoCommit) with go-ethereum's simulated backend (in memory, 200 transactions per
// block), both committing signed value transfers from 64 senders. The figure is tx/s from the
// first submission to the last acknowledgement; signing happens before the clock starts.
func BenchmarkCommit(b *testing.B) {
	b.Run("embedded-bbolt", func(b *testing.B) { benchEmbedded(b, true) })
	b.Run("embedded-memory", func(b *testing.B) { benchEmbedded(b, false) })
	b.Run("simulated", benchSimulated)
}

func benchEmbedded(b *testing.B, durable bool) {
	ks := keys(b)
	var g stake.Genesis
	for _, k := range ks {
		g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: stake.Address(chain.KeyAddress(k)), Balance: *uint256.NewInt(1 << 60)})
	}
	l, err := stake.New(g)
	if err != nil {
		b.Fatal(err)
	}
	cfg := embedded.Config{Machines: []sm.Machine{l}, AutoCommit: true}
	if durable {
		cfg.Path = filepath.Join(b.TempDir(), "chain.db")
	}
	c, err := embedded.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	per := (b.N + senders - 1) / senders
	txs := make([][]chain.SignedTx, senders)
	var wg sync.WaitGroup
	for i, k := range ks {
		wg.Go(func() {
			to := stake.Address(chain.KeyAddress(ks[(i+1)%senders]))
			p, _ := stake.EncodeOp(stake.Transfer{To: to, Amount: *uint256.NewInt(1)})
			for n := range per {
				tx, err := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: uint64(n), Machine: stake.Name, Payload: p}, k)
				if err != nil {
					panic(err)
				}
				txs[i] = append(txs[i], tx)
			}
		})
	}
	wg.Wait()
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	errs := make(chan error, senders)
	for i := range ks {
		wg.Go(func() {
			hs := make([]chain.Hash, 0, per)
			for _, tx := range txs[i] {
				h, err := c.Submit(ctx, tx)
				if err != nil {
					errs <- err
					return
				}
				hs = append(hs, h)
			}
			for _, h := range hs {
				r, err := c.WaitIncluded(ctx, h)
				if err == nil {
					err = r.Err()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	head, _ := c.Head(ctx)
	report(b, senders*per, cpu)
	b.ReportMetric(float64(senders*per)/float64(head.Height), "tx/block")
}

func benchSimulated(b *testing.B) {
	const perBlock = 200
	ks := make([]*ecdsa.PrivateKey, perBlock)
	alloc := types.GenesisAlloc{}
	for i := range ks {
		k, err := chain.KeyFromSeed(fmt.Sprintf("simbench/sim/%d", i))
		if err != nil {
			b.Fatal(err)
		}
		ks[i] = k
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Lsh(big.NewInt(1), 100)}
	}
	sim := simulated.NewBackend(alloc)
	defer sim.Close()
	client := sim.Client()
	ctx := context.Background()
	chainID, err := client.ChainID(ctx)
	if err != nil {
		b.Fatal(err)
	}
	signer := types.LatestSignerForChainID(chainID)
	blocks := (b.N + perBlock - 1) / perBlock
	txs := make([][]*types.Transaction, blocks)
	for n := range blocks {
		for i, k := range ks {
			to := common.Address(crypto.PubkeyToAddress(ks[(i+1)%perBlock].PublicKey))
			tx, err := types.SignNewTx(k, signer, &types.DynamicFeeTx{
				ChainID: chainID, Nonce: uint64(n), To: &to, Value: big.NewInt(1), Gas: 21000,
				GasFeeCap: big.NewInt(100_000_000_000), GasTipCap: big.NewInt(1_000_000_000),
			})
			if err != nil {
				b.Fatal(err)
			}
			txs[n] = append(txs[n], tx)
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for n := range blocks {
		for _, tx := range txs[n] {
			if err := client.SendTransaction(ctx, tx); err != nil {
				b.Fatal(err)
			}
		}
		sim.Commit()
		last := txs[n][len(txs[n])-1]
		r, err := client.TransactionReceipt(ctx, last.Hash())
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			b.Fatalf("block %d: receipt %+v, %v", n, r, err)
		}
	}
	b.StopTimer()
	report(b, blocks*perBlock, cpuTime()-cpu0)
	b.ReportMetric(perBlock, "tx/block")
}

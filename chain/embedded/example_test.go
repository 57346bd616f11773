package embedded_test

import (
	"context"
	"fmt"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/embedded"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

func Example() {
	ctx := context.Background()
	alice, _ := chain.KeyFromSeed("example/alice")
	bob, _ := chain.KeyFromSeed("example/bob")
	ledger, _ := stake.New(stake.Genesis{Accounts: []stake.GenesisAccount{
		{Address: stake.Address(chain.KeyAddress(alice)), Balance: *uint256.NewInt(1000)},
	}})
	c, err := embedded.Open(embedded.Config{Machines: []sm.Machine{ledger}}) // Path: "chain.db" to persist
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	send := func(op stake.Op) chain.Receipt {
		payload, _ := stake.EncodeOp(op)
		nonce, _ := c.Nonce(ctx, chain.KeyAddress(alice))
		tx, _ := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: nonce, Machine: stake.Name, Payload: payload}, alice)
		h, err := c.Submit(ctx, tx)
		if err != nil {
			fmt.Println(err)
		}
		c.Commit(ctx)
		r, _ := c.WaitIncluded(ctx, h)
		return r
	}
	r := send(stake.Transfer{To: stake.Address(chain.KeyAddress(bob)), Amount: *uint256.NewInt(250)})
	fmt.Println(r.Height, r.Err(), r.Events[0].Kind)
	r = send(stake.Bond{Amount: *uint256.NewInt(900)})
	fmt.Println(r.Height, r.Status == chain.Failed)

	b, _ := c.Query(ctx, stake.Name, stake.QueryAccount(stake.Address(chain.KeyAddress(bob))))
	acc, _ := stake.DecodeAccount(b)
	fmt.Println(acc.Balance.Dec())
	// Output:
	// 1 <nil> transfer
	// 2 true
	// 250
}

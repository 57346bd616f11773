package stake_test

import (
	"errors"
	"fmt"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

func Example() {
	alice, bob, judge := stake.Address{1}, stake.Address{2}, stake.Address{9}
	l, _ := stake.New(stake.Genesis{
		Params:      stake.Params{UnbondingPeriod: 3600},
		Accounts:    []stake.GenesisAccount{{Address: alice, Balance: *uint256.NewInt(1000)}},
		Authorities: []stake.Address{judge},
	})
	env := sm.Env{Time: 100}
	l.ApplyOp(env, alice, stake.Transfer{To: bob, Amount: *uint256.NewInt(250)})
	l.ApplyOp(env, alice, stake.Bond{Amount: *uint256.NewInt(700)})

	_, err := l.ApplyOp(env, bob, stake.Bond{Amount: *uint256.NewInt(900)})
	if e, ok := errors.AsType[*stake.InsufficientFundsError](err); ok {
		fmt.Println("bob has", e.Have.Dec(), "needs", e.Need.Dec())
	}

	// An offence at time 100; alice unbonds at 200; she is slashed a third at 300,
	// rounded up, half of it to bob, the rest burned.
	l.ApplyOp(sm.Env{Time: 200}, alice, stake.Unbond{Amount: *uint256.NewInt(400)})
	l.ApplyOp(sm.Env{Time: 300}, judge, stake.Slash{Target: alice, Num: 1, Den: 3, Since: 100, Beneficiary: bob, RewardBps: 5000})
	a := l.Account(alice)
	fmt.Println("bonded", a.Bonded.Dec(), "unbonding", a.Unbonding[0].Amount.Dec())
	bal, burned := l.Balance(bob), l.Burned()
	fmt.Println("bob", bal.Dec(), "burned", burned.Dec(), "check", l.Check())
	// Output:
	// bob has 250 needs 900
	// bonded 200 unbonding 266
	// bob 367 burned 117 check <nil>
}

package market_test

import (
	"fmt"

	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/market"
	"github.com/holiman/uint256"
)

// Price a Fashion-MNIST MLP task and match it against a book of three offers.
func Example() {
	g := graph.FashionMLP()
	spec := market.TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: market.Dataset{Samples: 60000},
		Batch: 64, Steps: 1000, Deadline: 4600, MaxPrice: *uint256.NewInt(2)}
	est, err := spec.Estimate(1000)
	if err != nil {
		fmt.Println(err)
		return
	}
	q, _ := spec.QuoteFor(est.Units)
	fmt.Println("FLOPs per step:", est.StepFLOPs)
	fmt.Println("work units:", est.Units, "escrow:", q.Escrow.Dec())

	book := market.NewBook()
	for i, o := range []struct {
		mem      uint64
		bitExact bool
		price    uint64
	}{{8 << 30, true, 1}, {80 << 30, false, 1}, {80 << 30, true, 2}} {
		book.Add(market.Resting{ID: [32]byte{byte(i + 1)}, Props: market.Props{Memory: o.mem, Precisions: 1, BitExact: o.bitExact},
			Price: *uint256.NewInt(o.price), Capacity: 1 << 40})
	}
	d := market.Demand{Task: [32]byte{0x7a}, Memory: 16 << 30, Precisions: 1, BitExact: true, MaxPrice: q.MaxPrice, Rate: est.Units / 3600}
	r, err := book.Match(&d, [32]byte{})
	fmt.Println("matched offer", r.ID[0], "at", r.Price.Dec(), err)
	// Output:
	// FLOPs per step: 27848763
	// work units: 30037477000 escrow: 60074954000
	// matched offer 3 at 2 <nil>
}

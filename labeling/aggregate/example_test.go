package aggregate_test

import (
	"fmt"
	"os"

	"github.com/deai-go/deai/labeling/aggregate"
)

// Aggregate the real Bluebirds crowd labels (39 workers, 108 images) and score each method
// against the expert labels.
func Example() {
	labels, err := os.Open("../testdata/bluebirds/labels.yaml")
	if err != nil {
		panic(err)
	}
	defer labels.Close()
	gt, err := os.Open("../testdata/bluebirds/gt.yaml")
	if err != nil {
		panic(err)
	}
	defer gt.Close()
	c, err := aggregate.ParseBluebirds(labels, gt)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d workers, %d items, %d labels\n", c.Workers, c.Items, len(c.Labels))
	mv, err := aggregate.MajorityVote(&c.Dataset)
	if err != nil {
		panic(err)
	}
	ds, err := aggregate.DawidSkene(&c.Dataset, aggregate.Config{})
	if err != nil {
		panic(err)
	}
	for _, m := range []struct {
		name string
		r    aggregate.Result
	}{{"majority vote", mv}, {"Dawid-Skene", ds}} {
		acc, n := aggregate.Accuracy(m.r.Labels, c.Gold)
		fmt.Printf("%-13s accuracy %.4f on %d gold items\n", m.name, acc, n)
	}
	// Output:
	// 39 workers, 108 items, 4212 labels
	// majority vote accuracy 0.7593 on 108 gold items
	// Dawid-Skene   accuracy 0.8981 on 108 gold items
}

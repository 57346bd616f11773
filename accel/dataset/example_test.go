package dataset_test

import (
	"fmt"

	"github.com/deai-go/deai/accel/dataset"
)

// FashionMNIST with EmbeddedSource gives the same data on every machine;
// pass "" to prefer the full dataset when it is installed.
func ExampleFashionMNIST() {
	train, test, source, err := dataset.FashionMNIST(dataset.EmbeddedSource)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("source:", source)
	fmt.Println("train:", train.N, "test:", test.N)
	fmt.Printf("images: %dx%d, classes: %d\n", train.Rows, train.Cols, train.Classes)
	img, label := train.Sample(0)
	fmt.Println("first label:", label, "pixels:", len(img))
	// Output:
	// source: embedded:fashion-mnist-subset
	// train: 6000 test: 1000
	// images: 28x28, classes: 10
	// first label: 9 pixels: 784
}

// The batch order of a training run follows from its seed alone.
func ExampleBatches() {
	for epoch := uint64(0); epoch < 2; epoch++ {
		fmt.Println(epoch, dataset.Batches(1, epoch, 10, 3))
	}
	fmt.Println(dataset.BatchAt(1, 10, 3, 4)) // step 4 = epoch 1, batch 1
	// Output:
	// 0 [[6 9 5] [3 4 7] [8 1 2]]
	// 1 [[2 3 6] [7 5 8] [0 1 4]]
	// [7 5 8]
}

// A verifier checks that a sample belongs to the committed dataset with the
// root and a proof only.
func ExampleVerifySample() {
	_, test, _, err := dataset.FashionMNIST(dataset.EmbeddedSource)
	if err != nil {
		fmt.Println(err)
		return
	}
	root := test.Commitment()
	proof, err := test.SampleProof(42)
	if err != nil {
		fmt.Println(err)
		return
	}
	img, label := test.Sample(42)
	fmt.Println("root:", root)
	fmt.Println("siblings:", len(proof.Siblings))
	fmt.Println("valid:", dataset.VerifySample(root, 42, img, label, test.Rows, test.Cols, proof) == nil)
	fmt.Println("relabelled valid:", dataset.VerifySample(root, 42, img, (label+1)%10, test.Rows, test.Cols, proof) == nil)
	// Output:
	// root: d08468f4fef2109150a63b001ead2ae44dc18cb30086f4d47630f786f5eb12c1
	// siblings: 10
	// valid: true
	// relabelled valid: false
}

package labeling_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/deai-go/deai/labeling"
	"github.com/deai-go/deai/labeling/aggregate"
)

func TestBluebirdsEmbedded(t *testing.T) {
	got, err := labeling.Bluebirds()
	if err != nil {
		t.Fatal(err)
	}
	labels, err := os.Open("testdata/bluebirds/labels.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer labels.Close()
	gt, err := os.Open("testdata/bluebirds/gt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Close()
	want, err := aggregate.ParseBluebirds(labels, gt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the embedded corpus differs from testdata/bluebirds")
	}
	if got.Workers != 39 || got.Items != 108 || len(got.Labels) != 39*108 {
		t.Fatalf("%d workers, %d items, %d labels; want 39, 108, 4212", got.Workers, got.Items, len(got.Labels))
	}
	again, _ := labeling.Bluebirds()
	again.Labels[0].Class ^= 1
	if reflect.DeepEqual(got.Labels, again.Labels) {
		t.Fatal("two calls share their labels")
	}
}

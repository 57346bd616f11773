package labeling

import (
	"bytes"
	_ "embed"

	"github.com/deai-go/deai/labeling/aggregate"
)

var (
	//go:embed testdata/bluebirds/labels.yaml
	bluebirdsLabels []byte
	//go:embed testdata/bluebirds/gt.yaml
	bluebirdsGold []byte
)

// Bluebirds returns the Bluebirds crowd-labeling corpus (Welinder et al. 2010: 39 workers,
// 108 images, a binary question, gold classes for every image) compiled into the package from
// testdata/bluebirds (licence in testdata/bluebirds/LICENSE.TXT), so that programs need no
// file at run time. Each call parses a fresh copy.
func Bluebirds() (*aggregate.Corpus, error) {
	return aggregate.ParseBluebirds(bytes.NewReader(bluebirdsLabels), bytes.NewReader(bluebirdsGold))
}

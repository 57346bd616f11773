package aggregate

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var benchData = flag.String("aggregate.data", "",
	"directory of a Get-Another-Label data set (labels.txt, gold.txt, categories.txt) for BenchmarkDawidSkeneData; scripts/bench_ds_numpy.py sets it")

// BenchmarkDawidSkeneAdultContent2 is the speed target: Dawid-Skene to convergence
// (default Config) on the 92,721 labels of AdultContent2, on one core.
func BenchmarkDawidSkeneAdultContent2(b *testing.B) {
	c := loadCorpus(b, "adultcontent2")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DawidSkene(&c.Dataset, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDawidSkeneMillion runs Dawid-Skene to convergence on a simulated crowd of 10^6
// labels (200,000 items × 5 labels, 1,000 workers, 4 classes).
func BenchmarkDawidSkeneMillion(b *testing.B) {
	c := simulate(11, 200_000, 1000, 5, 4, 0.5, 0.95)
	b.ResetTimer()
	for b.Loop() {
		r, err := DawidSkene(&c.d, Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Iterations), "iterations")
	}
}

func BenchmarkMajorityVoteAdultContent2(b *testing.B) {
	c := loadCorpus(b, "adultcontent2")
	for b.Loop() {
		if _, err := MajorityVote(&c.Dataset); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMACEAdultContent2(b *testing.B) {
	c := loadCorpus(b, "adultcontent2")
	for b.Loop() {
		if _, err := MACE(&c.Dataset, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDawidSkeneData runs Dawid-Skene to convergence (default Config) on the data set in
// the directory -aggregate.data (skipped without it): the Go side of the side-by-side
// comparison with numpy that scripts/bench_ds_numpy.py runs on the same files. It reports
// the iterations and the accuracy on the gold items, which the script checks against
// numpy's.
func BenchmarkDawidSkeneData(b *testing.B) {
	if *benchData == "" {
		b.Skip("no -aggregate.data directory")
	}
	var files [3]*os.File
	for n, name := range []string{"labels.txt", "gold.txt", "categories.txt"} {
		f, err := os.Open(filepath.Join(*benchData, name))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		files[n] = f
	}
	c, err := ParseTSV(files[0], files[1], files[2])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var r Result
	for b.Loop() {
		if r, err = DawidSkene(&c.Dataset, Config{}); err != nil {
			b.Fatal(err)
		}
	}
	acc, _ := Accuracy(r.Labels, c.Gold)
	b.ReportMetric(float64(r.Iterations), "iterations")
	b.ReportMetric(acc, "accuracy")
	b.ReportMetric(float64(len(c.Labels)), "labels")
}

func BenchmarkGLADAdultContent2(b *testing.B) {
	c := loadCorpus(b, "adultcontent2")
	for b.Loop() {
		if _, err := GLAD(&c.Dataset, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

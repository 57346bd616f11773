package aggregate

import "testing"

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

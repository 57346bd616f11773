// Package aggregate turns the noisy labels of a crowd into one label per item and an estimate
// of every worker's skill, and tells spammers from honest workers by a sequential test against
// gold items. It is the statistics of the labeling market (package labeling); it knows nothing
// of tokens or chains.
//
// # Methods
//
//   - MajorityVote: the most frequent class.
//   - Wawa (worker agreement with aggregate): a vote weighted by each worker's agreement with
//     the majority vote; crowd-kit's best method on AdultContent2.
//   - DawidSkene: per-worker confusion matrices and a class prior by EM.
//   - MACE: per-worker competence and spamming strategy by EM (Hovy et al. 2013).
//   - GLAD: worker ability and item difficulty by EM with gradient steps (Whitehill et al.
//     2009), using the package's own exponential.
//   - Online: labels arrive one at a time; running majority votes and warm Dawid-Skene refits.
//   - SPRT: Wald's sequential probability ratio test on gold answers, with documented error
//     rates; a Test is a value that a state machine can keep.
//
// The EM methods start from the majority-vote shares, stop when the mean total variation
// distance between successive posteriors is at most Config.Tolerance (default 1e-5) or after
// Config.MaxIterations (default 200), and smooth every count table with Config.Smoothing
// (default 0.01).
//
// # Determinism
//
// Results are a function of the Dataset alone, bit for bit, on every architecture: sums run
// in the order of Dataset.Labels (or, per item, in that order restricted to the item); no
// result depends on map iteration order; ties go to the lowest class index; products are
// written float64(a*b) + c where they meet a sum, so no FMA is fused; math.Log and math.Exp,
// which differ between amd64 and arm64, are never called: EM multiplies probabilities and
// rescales them by exact powers of two, and GLAD's sigmoid uses the package's own exp, built
// from exact operations. Parallelism (Config.Parallelism) splits outputs, never a sum.
// TestGoldenBits pins the bits of the EM methods on Bluebirds on amd64, 386 and arm64. A
// chain may therefore run these methods inside a state machine.
//
// # Speed
//
// DawidSkene, the method a campaign runs at finalization, is built for it: labels grouped by
// item in flat int32 tables; class vectors padded to 2, 4 or 5 entries and kept in registers
// by unrolled kernels; the E-step visits items grouped by label count, so its loops and
// rescale points are predictable; the M-step gathers each confusion row's posteriors into
// registers when the posteriors fit in cache and otherwise scatters each item's posterior
// into its labels' rows in one streaming pass; table rows are reached through array
// pointers laid out in visiting order (no index arithmetic or bounds check per label); no
// allocation inside the iterations. Every sum keeps the order stated above, so the results
// are the bits of the plain implementation (TestDawidSkeneMatchesReference checks them
// against it). Config.Parallelism spreads the E-step's items and the M-step's rows over
// goroutines; no sum is split, so the results do not depend on it. Figures, side by side
// with numpy (scripts/bench_ds_numpy.py), are in BENCHMARKS.md.
//
// # Accuracy on real data
//
// Accuracy is the fraction of items with a gold class, among those with at least one label,
// whose aggregated class is the gold one (crowd-kit's measure; on AdultContent2, 333 of the
// 1,517 gold items have labels). With default settings (TestAccuracy pins these):
//
//	data set        labels   MajorityVote  Wawa    DawidSkene  MACE    GLAD
//	Bluebirds        4,212   0.7593        0.7593  0.8981      0.8889  0.7222
//	AdultContent2   92,721   0.7628        0.7658  0.7387      0.7928  0.7087
//
// crowd-kit publishes 0.759 / 0.759 / 0.898 on Bluebirds and 0.751–0.763 / 0.766–0.769 /
// 0.739–0.748 on AdultContent2 for the first three.
//
// # Data
//
// ParseBluebirds reads the Bluebirds YAML (a small hand-written parser of the flow-mapping
// subset it uses; no YAML module) and ParseTSV the Get-Another-Label format of
// AdultContent2. Both data sets are in ../testdata with their licences (Clear-BSD and
// Apache-2.0).
//
// # Errors
//
// Errors wrap ErrInvalidDataset, ErrInvalidConfig or ErrMalformed; parse errors name the
// file, line and column.
package aggregate

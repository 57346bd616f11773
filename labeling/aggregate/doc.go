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
// written float64(a*b) + c where they meet a sum, so no FMA is fused; no logarithm or
// exponential is taken (math.Log and math.Exp differ between amd64 and arm64): EM multiplies
// probabilities and rescales them by exact powers of two. A chain may therefore run these
// methods inside a state machine.
//
// # Accuracy on real data
//
// Accuracy is the fraction of items with a gold class, among those with at least one label,
// whose aggregated class is the gold one (crowd-kit's measure; on AdultContent2, 333 of the
// 1,517 gold items have labels). With default settings (TestAccuracy pins these):
//
//	data set        labels   MajorityVote  Wawa    DawidSkene  MACE
//	Bluebirds        4,212   0.7593        0.7593  0.8981      0.8889
//	AdultContent2   92,721   0.7628        0.7658  0.7387      0.7928
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

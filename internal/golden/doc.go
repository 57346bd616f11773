// Package golden compares test results with golden files in testdata, and rewrites them when
// a test binary runs with -rewrite. Golden files pin the SDK's protocol values (hashes of
// encodings, states, generator streams, function outputs) so that any change to them is a
// visible, deliberate act. It is for tests only.
package golden

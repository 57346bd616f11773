// Package attack is the attack harness of package pol: strategies that produce proofs of
// learning without doing the committed work honestly, each with the openings its author can
// serve and the list of steps it forged. The published attacks on tolerance-based proofs of
// learning are here, run against pol's bit-exact verifier:
//
//   - A1 tolerance interpolation (Fang et al. 2023): honest steps up to a point, then states
//     interpolated linearly toward a target model.
//   - A2 top-Q evasion (Fang et al. 2023): the forged steps are given updates smaller than any
//     honest one, so that a verifier replaying the largest updates (Jia et al. 2021) skips them.
//   - A3 adversarial or substituted batches (Zhang et al. 2022): some steps train on batches
//     other than the committed data order gives (here: samples of one class).
//   - A4 forged initialisation (Zhang et al. 2022): the run starts from weights other than the
//     committed seed gives.
//   - A5 a lie about hyperparameters: a run made with other hyperparameters, declared as such.
//   - A6 replaying or splicing another solver's proof: verbatim, re-bound to the thief, or the
//     thief's prefix spliced onto the victim's suffix.
//   - A7 partial training: a fraction of the steps skipped (weights unchanged) or faked
//     (weights moved by noise).
//
// A Forgery lists the step indices whose replay cannot match (Forged) or says that structural
// verification alone must reject it (Structural). The tests run each strategy against
// pol.Verifier over at least 1,000 beacons and check that a proof is rejected exactly when one of
// its forged steps is sampled.
package attack

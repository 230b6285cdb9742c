//! Criterion as this project's benches use it. Criterion's defaults call a change "regressed"
//! at 1 % and p < 0.05, judged on the samples of one run as if they were independent; on a
//! shared 2-core machine two runs of identical code differ by more than that (the machine's
//! speed drifts between them), so its defaults cry wolf. Here a change is reported only when
//! it is beyond 10 % and significant at 1 %; `cargo bench` is for seeing where time goes and
//! large changes, and the paired `phasebench ab` (alternating rounds, so drift cancels) is
//! for deciding small ones.

use criterion::Criterion;

/// The configuration every bench group starts from (command-line flags still apply).
pub fn criterion() -> Criterion {
    Criterion::default()
        .noise_threshold(0.10)
        .significance_level(0.01)
        .confidence_level(0.99)
}

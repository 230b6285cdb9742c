//! How numbers print: a value's digits follow the resolution it was measured at, so a
//! whole-millisecond series never shows invented decimals and a microsecond one never loses
//! its last digit (`115` beside `30.319`, not `115.0` beside `30.319`).

use crate::model::sample::Resolution;

/// Decimals of a measured value (a percentile, a min or a max) at `resolution`.
fn measured_digits(resolution: Option<Resolution>) -> usize {
    match resolution {
        Some(Resolution::Ms) => 0,
        Some(Resolution::Us) | None => 3,
    }
}

/// Decimals of a derived value (a mean, a difference of means, an interval bound): one more
/// than the measured values for whole milliseconds, since a mean of integers is not one.
fn derived_digits(resolution: Option<Resolution>) -> usize {
    (measured_digits(resolution) + 1).min(3)
}

/// A measured value in milliseconds, or `-` when absent.
pub(crate) fn measured(value: Option<f64>, resolution: Option<Resolution>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |v| format!("{v:.*}", measured_digits(resolution)),
    )
}

/// A derived value in milliseconds (mean, standard deviation, delta, interval, threshold).
pub(crate) fn derived(value: f64, resolution: Option<Resolution>) -> String {
    format!("{value:.*}", derived_digits(resolution))
}

/// A derived value with its sign (deltas and their intervals).
pub(crate) fn signed(value: f64, resolution: Option<Resolution>) -> String {
    format!("{value:+.*}", derived_digits(resolution))
}

/// A ratio as a signed percentage with one decimal, or `-`.
pub(crate) fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |p| format!("{:+.1}%", p * 100.0))
}

/// A measured value for machine-readable formats (CSV): full microsecond precision, no
/// padding, empty when absent.
pub(crate) fn plain(value: Option<f64>) -> String {
    value
        .map(|v| format!("{}", (v * 1e3).round() / 1e3))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_follow_the_resolution() {
        assert_eq!(measured(Some(115.0), Some(Resolution::Ms)), "115");
        assert_eq!(measured(Some(30.319), Some(Resolution::Us)), "30.319");
        assert_eq!(measured(None, Some(Resolution::Us)), "-");
        assert_eq!(derived(24.26, Some(Resolution::Ms)), "24.3");
        assert_eq!(derived(0.043000000000000003, Some(Resolution::Us)), "0.043");
        assert_eq!(signed(1.5, Some(Resolution::Us)), "+1.500");
        assert_eq!(signed(-0.25, Some(Resolution::Ms)), "-0.2");
        assert_eq!(percent(Some(0.0505)), "+5.1%");
        assert_eq!(plain(Some(0.043000000000000003)), "0.043");
        assert_eq!(plain(None), "");
    }
}

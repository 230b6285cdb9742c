//! Injected-delay distributions and the duration syntax shared by scenario files and the CLI.
//!
//! A delay is drawn once per request or connection from a seeded RNG, so that a run at
//! concurrency 1 is reproducible draw for draw. Every distribution is clamped at zero: a normal
//! distribution with a small mean never yields a negative wait.

use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// A distribution of delays.
#[derive(Debug, Clone, PartialEq)]
pub enum DelayDist {
    /// Always the same delay.
    Constant(Duration),
    /// Uniform between `low` and `high`, both included.
    Uniform { low: Duration, high: Duration },
    /// Normal with the given mean and standard deviation, clamped at zero.
    Normal { mean: Duration, std_dev: Duration },
    /// Log-normal fitted to a median and a 99th percentile.
    LogNormal { p50: Duration, p99: Duration },
    /// Uniform choice among recorded values (e.g. measured in production).
    Empirical(Vec<Duration>),
}

/// Reads a distribution from one word, for command lines: `20ms` (constant),
/// `uniform:5ms,15ms`, `normal:20ms,5ms` (mean, standard deviation), `lognormal:30ms,90ms`
/// (p50, p99) or `empirical:1ms,3ms,9ms`. The parameters are validated.
pub fn parse_delay(text: &str) -> Result<DelayDist, String> {
    let Some((kind, args)) = text.split_once(':') else {
        return parse_duration(text)
            .map(DelayDist::Constant)
            .map_err(|e| e.to_string());
    };
    let values: Vec<Duration> = args
        .split(',')
        .map(|v| parse_duration(v.trim()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let two = |name: &str| -> Result<(Duration, Duration), String> {
        match values[..] {
            [a, b] => Ok((a, b)),
            _ => Err(format!("{name} takes two durations, e.g. {name}:5ms,15ms")),
        }
    };
    let dist = match kind {
        "uniform" => two("uniform").map(|(low, high)| DelayDist::Uniform { low, high })?,
        "normal" => two("normal").map(|(mean, std_dev)| DelayDist::Normal { mean, std_dev })?,
        "lognormal" => two("lognormal").map(|(p50, p99)| DelayDist::LogNormal { p50, p99 })?,
        "empirical" => DelayDist::Empirical(values),
        other => {
            return Err(format!(
                "unknown distribution {other:?}: use uniform, normal, lognormal or empirical"
            ));
        }
    };
    dist.validate().map_err(|e| e.to_string())?;
    Ok(dist)
}

/// Why a distribution's parameters are impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelayDistError {
    #[error("uniform bounds are reversed: low {low:?} is above high {high:?}")]
    UniformReversed { low: Duration, high: Duration },
    #[error("lognormal needs 0 < p50 < p99, got p50 {p50:?} and p99 {p99:?}")]
    LogNormalOrder { p50: Duration, p99: Duration },
    #[error("an empirical distribution needs at least one value")]
    EmptyEmpirical,
}

impl Default for DelayDist {
    fn default() -> Self {
        DelayDist::Constant(Duration::ZERO)
    }
}

impl DelayDist {
    /// Checks the parameters; every constructor path of the harness goes through this.
    pub fn validate(&self) -> Result<(), DelayDistError> {
        match self {
            DelayDist::Constant(_) | DelayDist::Normal { .. } => Ok(()),
            DelayDist::Uniform { low, high } if low > high => {
                Err(DelayDistError::UniformReversed {
                    low: *low,
                    high: *high,
                })
            }
            DelayDist::Uniform { .. } => Ok(()),
            DelayDist::LogNormal { p50, p99 } if p50.is_zero() || p50 >= p99 => {
                Err(DelayDistError::LogNormalOrder {
                    p50: *p50,
                    p99: *p99,
                })
            }
            DelayDist::LogNormal { .. } => Ok(()),
            DelayDist::Empirical(values) if values.is_empty() => {
                Err(DelayDistError::EmptyEmpirical)
            }
            DelayDist::Empirical(_) => Ok(()),
        }
    }

    /// True when every draw is exactly zero (no timer needs to be armed).
    pub fn is_zero(&self) -> bool {
        matches!(self, DelayDist::Constant(d) if d.is_zero())
    }

    /// Draws one delay. Parameters must have passed [`DelayDist::validate`]; invalid ones
    /// degrade to zero rather than panic.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        match self {
            DelayDist::Constant(d) => *d,
            DelayDist::Uniform { low, high } => {
                if low >= high {
                    return *low;
                }
                let nanos = rng.random_range(low.as_nanos() as u64..=high.as_nanos() as u64);
                Duration::from_nanos(nanos)
            }
            DelayDist::Normal { mean, std_dev } => {
                match Normal::new(mean.as_secs_f64(), std_dev.as_secs_f64()) {
                    Ok(normal) => secs_clamped(normal.sample(rng)),
                    Err(_) => *mean,
                }
            }
            DelayDist::LogNormal { p50, p99 } => {
                let mu = p50.as_secs_f64().ln();
                let sigma = (p99.as_secs_f64().ln() - mu) / Z_P99;
                match LogNormal::new(mu, sigma) {
                    Ok(lognormal) => secs_clamped(lognormal.sample(rng)),
                    Err(_) => *p50,
                }
            }
            DelayDist::Empirical(values) => {
                if values.is_empty() {
                    return Duration::ZERO;
                }
                values[rng.random_range(0..values.len())]
            }
        }
    }
}

/// The one word [`parse_delay`] reads back (for passing a distribution on a command line).
impl std::fmt::Display for DelayDist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |values: &[Duration]| {
            values
                .iter()
                .map(|d| format_duration(*d))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            DelayDist::Constant(d) => f.write_str(&format_duration(*d)),
            DelayDist::Uniform { low, high } => write!(f, "uniform:{}", list(&[*low, *high])),
            DelayDist::Normal { mean, std_dev } => {
                write!(f, "normal:{}", list(&[*mean, *std_dev]))
            }
            DelayDist::LogNormal { p50, p99 } => write!(f, "lognormal:{}", list(&[*p50, *p99])),
            DelayDist::Empirical(values) => write!(f, "empirical:{}", list(values)),
        }
    }
}

fn secs_clamped(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs.min(3600.0))
    } else {
        Duration::ZERO
    }
}

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDurationError {
    #[error("empty duration: write e.g. \"20ms\"")]
    Empty,
    #[error("negative duration {0:?}: delays and timeouts must be zero or more")]
    Negative(String),
    #[error(
        "{0:?} is not a duration: write a number and a unit (ns, us, ms, s, m), e.g. \"20ms\" or \"1.5s\""
    )]
    Malformed(String),
    #[error("{0:?} has no unit: write e.g. \"{0}ms\" (only a bare 0 may omit it)")]
    MissingUnit(String),
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

/// Parses `"250us"`, `"20ms"`, `"1.5s"`, `"2m"`, `"0"`. Units: ns, us (or µs), ms, s, m.
pub fn parse_duration(text: &str) -> Result<Duration, ParseDurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ParseDurationError::Empty);
    }
    if trimmed.starts_with('-') {
        return Err(ParseDurationError::Negative(trimmed.to_owned()));
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| ParseDurationError::Malformed(trimmed.to_owned()))?;
    let seconds_per_unit = match unit.trim() {
        "" if value == 0.0 => 0.0,
        "" => return Err(ParseDurationError::MissingUnit(trimmed.to_owned())),
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err(ParseDurationError::Malformed(trimmed.to_owned())),
    };
    let secs = value * seconds_per_unit;
    if !secs.is_finite() || secs > 86_400.0 * 365.0 {
        return Err(ParseDurationError::TooLarge(trimmed.to_owned()));
    }
    // Round through nanoseconds so "0.1ms" is exactly 100µs, not 99.999µs.
    Ok(Duration::from_nanos((secs * 1e9).round() as u64))
}

/// Formats a duration the way [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        "0ms".to_owned()
    } else if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_print_as_the_word_they_are_read_from() {
        for word in [
            "20ms",
            "uniform:5ms,15ms",
            "normal:20ms,5ms",
            "lognormal:30ms,90ms",
            "empirical:1ms,250us,9ms",
        ] {
            let dist = parse_delay(word).unwrap();
            assert_eq!(dist.to_string(), word);
            assert_eq!(parse_delay(&dist.to_string()).unwrap(), dist);
        }
    }

    #[test]
    fn distributions_read_from_one_word() {
        assert_eq!(
            parse_delay("20ms").unwrap(),
            DelayDist::Constant(Duration::from_millis(20))
        );
        assert_eq!(
            parse_delay("uniform:5ms,15ms").unwrap(),
            DelayDist::Uniform {
                low: Duration::from_millis(5),
                high: Duration::from_millis(15)
            }
        );
        assert!(matches!(
            parse_delay("lognormal:30ms,90ms").unwrap(),
            DelayDist::LogNormal { .. }
        ));
        assert!(matches!(
            parse_delay("empirical:1ms,3ms,9ms").unwrap(),
            DelayDist::Empirical(v) if v.len() == 3
        ));
        for bad in [
            "uniform:15ms,5ms",
            "lognormal:90ms,30ms",
            "normal:1ms",
            "zipf:1ms",
            "fast",
        ] {
            assert!(parse_delay(bad).is_err(), "{bad}");
        }
    }
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("20ms"), Ok(ms(20)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("0.1ms"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn rejects_bad_durations() {
        assert!(matches!(
            parse_duration("-5ms"),
            Err(ParseDurationError::Negative(_))
        ));
        assert!(matches!(
            parse_duration("5"),
            Err(ParseDurationError::MissingUnit(_))
        ));
        assert!(matches!(
            parse_duration("fast"),
            Err(ParseDurationError::Malformed(_))
        ));
        assert!(matches!(
            parse_duration("5 parsecs"),
            Err(ParseDurationError::Malformed(_))
        ));
        assert!(matches!(parse_duration(""), Err(ParseDurationError::Empty)));
    }

    #[test]
    fn format_round_trips() {
        for d in [
            ms(0),
            ms(20),
            Duration::from_secs(3),
            Duration::from_micros(250),
            Duration::from_nanos(7),
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[test]
    fn lognormal_matches_its_quantiles() {
        let dist = DelayDist::LogNormal {
            p50: ms(60),
            p99: ms(180),
        };
        dist.validate().unwrap();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut draws: Vec<Duration> = (0..20_000).map(|_| dist.sample(&mut rng)).collect();
        draws.sort();
        let p50 = draws[draws.len() / 2].as_secs_f64() * 1e3;
        let p99 = draws[draws.len() * 99 / 100].as_secs_f64() * 1e3;
        assert!((p50 - 60.0).abs() < 3.0, "p50 {p50}");
        assert!((p99 - 180.0).abs() < 18.0, "p99 {p99}");
    }

    #[test]
    fn uniform_stays_in_bounds_and_normal_is_clamped() {
        let mut rng = SmallRng::seed_from_u64(1);
        let uniform = DelayDist::Uniform {
            low: ms(5),
            high: ms(15),
        };
        for _ in 0..1000 {
            let d = uniform.sample(&mut rng);
            assert!(d >= ms(5) && d <= ms(15));
        }
        let normal = DelayDist::Normal {
            mean: ms(1),
            std_dev: ms(10),
        };
        let draws: Vec<Duration> = (0..1000).map(|_| normal.sample(&mut rng)).collect();
        assert!(
            draws.iter().any(|d| d.is_zero()),
            "some draws clamp at zero"
        );
    }

    #[test]
    fn same_seed_same_draws() {
        let dist = DelayDist::Empirical(vec![ms(1), ms(2), ms(3)]);
        let a: Vec<_> = {
            let mut r = SmallRng::seed_from_u64(9);
            (0..50).map(|_| dist.sample(&mut r)).collect()
        };
        let b: Vec<_> = {
            let mut r = SmallRng::seed_from_u64(9);
            (0..50).map(|_| dist.sample(&mut r)).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn validation_catches_impossible_parameters() {
        assert!(
            DelayDist::Uniform {
                low: ms(5),
                high: ms(1)
            }
            .validate()
            .is_err()
        );
        assert!(
            DelayDist::LogNormal {
                p50: ms(50),
                p99: ms(10)
            }
            .validate()
            .is_err()
        );
        assert!(DelayDist::Empirical(vec![]).validate().is_err());
    }
}

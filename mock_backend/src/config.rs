//! What the mock injects: per-stage delay distributions and per-request fault probabilities.

use crate::delay::DelayDist;

/// A probability in `[0, 1]`; the constructor is the only way in, so a stored value is valid.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Probability(f64);

/// A probability outside `[0, 1]` (or not a number).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("probability {0} is outside [0, 1]")]
pub struct InvalidProbability(pub f64);

impl Probability {
    pub const NEVER: Probability = Probability(0.0);
    pub const ALWAYS: Probability = Probability(1.0);

    pub fn new(value: f64) -> Result<Self, InvalidProbability> {
        if (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidProbability(value))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// Draws once: true with this probability. Never draws from the RNG when 0, so adding a
    /// disabled fault leaves every other draw of a seeded run unchanged.
    pub fn fires<R: rand::Rng + ?Sized>(self, rng: &mut R) -> bool {
        self.0 > 0.0 && (self.0 >= 1.0 || rng.random_bool(self.0))
    }
}

/// Delay distributions, one per stage of an exchange.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StageDelays {
    /// Before the websocket upgrade is answered (101 or the refusal).
    pub ws_handshake: DelayDist,
    /// Between a warmup `response.create` (`generate: false`) and its `response.completed`.
    pub warmup_response: DelayDist,
    /// Before the HTTP status line and headers of `POST /responses` are sent.
    pub response_headers: DelayDist,
    /// From the start of the answer stream (the websocket request, or the HTTP headers) to the
    /// first `response.output_text.delta`.
    pub first_token: DelayDist,
    /// Between consecutive deltas.
    pub inter_token: DelayDist,
}

/// Probabilities of each fault, drawn per connection (websocket) or per request (HTTP).
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Refuse the websocket upgrade with [`Faults::ws_upgrade_status`].
    pub ws_upgrade_reject: Probability,
    /// HTTP status of a refused upgrade.
    pub ws_upgrade_status: u16,
    /// Never answer a warmup request on this connection.
    pub warmup_stall: Probability,
    /// Drop the connection after the first delta of a turn, without a close frame or the end
    /// of the chunked body.
    pub reset_mid_stream: Probability,
    /// Answer `POST /responses` with 429 Too Many Requests.
    pub http_429: Probability,
    /// Answer `POST /responses` with 500 Internal Server Error.
    pub http_500: Probability,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            ws_upgrade_reject: Probability::NEVER,
            ws_upgrade_status: 404,
            warmup_stall: Probability::NEVER,
            reset_mid_stream: Probability::NEVER,
            http_429: Probability::NEVER,
            http_500: Probability::NEVER,
        }
    }
}

/// Everything the mock needs to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    pub delays: StageDelays,
    pub faults: Faults,
    /// Number of `response.output_text.delta` events per answer (at least 1).
    pub tokens: u32,
    /// Text of the answer, split over the deltas.
    pub answer: String,
    /// Seed of the RNG every delay and fault is drawn from.
    pub seed: u64,
    /// Keep a record of every request (ground truth for cross-checks). The harness drains the
    /// records of each thread as it finishes, so memory stays flat.
    pub record_requests: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            delays: StageDelays::default(),
            faults: Faults::default(),
            tokens: 5,
            answer: "Hello from the mock model.".to_owned(),
            seed: 0,
            record_requests: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_bounds() {
        assert!(Probability::new(1.5).is_err());
        assert!(Probability::new(-0.1).is_err());
        assert!(Probability::new(f64::NAN).is_err());
        assert!(Probability::new(0.25).is_ok());
    }

    #[test]
    fn never_and_always_do_not_draw() {
        use rand::SeedableRng;
        let mut a = rand::rngs::SmallRng::seed_from_u64(3);
        let mut b = rand::rngs::SmallRng::seed_from_u64(3);
        assert!(!Probability::NEVER.fires(&mut a));
        assert!(Probability::ALWAYS.fires(&mut a));
        use rand::Rng;
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }
}

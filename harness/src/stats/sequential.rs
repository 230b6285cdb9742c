//! Sequential A/B: round pairs are added until the comparison decides, with error rates that
//! hold under this optional stopping.
//!
//! Why not re-check the fixed-n interval after every round: each look is another chance for
//! noise to push an interval past the threshold, and "stop at the first look that decides"
//! keeps the lucky one. With looks after every round pair from 3 to 40, a 95% interval
//! re-checked that way calls a change sitting exactly at the threshold "regressed" in about
//! one trial in six instead of one in forty (the unit test below measures it).
//!
//! The plan instead spends the error budget α = 1 − confidence over a schedule of looks
//! (alpha spending with the quadratic spending function α·t² of the information fraction
//! t = n/N: look k gets α·(t_k² − t_{k−1}²)), and each look's interval is formed at its own
//! level 1 − α_k. The levels sum to α, so the chance that *any* look's interval misses the
//! true change is at most α by the union bound, whatever decides when to stop: all primary
//! rows decided, one row decided (bisect), a regression, or the time budget. That is more
//! conservative than an exact group-sequential boundary (which would use the correlation
//! between looks) but needs no normality of the statistic's path and holds for Holm's family
//! inside each look. Looks come at geometrically growing round counts (×4/3), so few looks
//! share α.
//!
//! Why quadratic, not linear (α·t): a change near the smallest one the budget can see is only
//! decided at the last looks, and α·t² keeps more α for them (a 10-to-28-pair plan gives its
//! last look 54% of α instead of 32%) at the price of stricter early looks, which only delay
//! changes large enough to be decided early anyway. A simulation of codex's hogged-core noise
//! (round-pair sd 1.98 ms, +2.6 ms against a 1.06 ms threshold, Holm over three rows, 1,500
//! trials each) put the power at 87% linear and 92% quadratic for 28 pairs; a cubic gained
//! under a point more and slowed every early stop further.
//!
//! Why a time budget does not re-spread α: `--max-time` often holds far fewer round pairs
//! than the plan's last look (five minutes of real codex app-server: about 13 of 40). The
//! looks that run keep the whole plan's levels and the last look that fits spends all that is
//! left ([`SequentialPlan::last_look_at`]): a first look at 10 of 40 pairs spends 6% of α and
//! a last look at 13 the other 94%. Re-spreading α over a plan cut to end at 13 would give
//! the first look (10/13)² = 59% and the last only 41%, and the change such a budget is for
//! (one only the last look can see) is then missed more often: the unit test below measures
//! 45% against 56% power (1,818 and 2,233 of 4,000) for a shift of 2.5 thresholds at a
//! round-pair sd of 2.25 thresholds (codex hogged), at the same false-regression rate. What
//! the early look loses is only early stops for changes large enough to be decided anyway.

use serde::{Deserialize, Serialize};

use super::estimate::MIN_PAIRED_ROUNDS;

/// Most round pairs `--until-decided` runs unless told.
pub(crate) const DEFAULT_MAX_ROUNDS: u32 = 40;
/// Each look after the first comes at this many times the previous look's round pairs (and at
/// least two more).
const GROWTH: f64 = 4.0 / 3.0;

/// Where a sequential comparison stood when it was judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Look {
    /// This look, 1-based, of `looks` planned.
    pub index: u32,
    pub looks: u32,
    /// Round pairs judged at this look, of the plan's `max_rounds`.
    pub rounds: u32,
    pub max_rounds: u32,
    /// The two-sided confidence of this look's intervals (the policy's confidence less what
    /// the other looks spend).
    pub confidence: f64,
}

/// The looks of a sequential A/B and the level of each.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SequentialPlan {
    /// Round pairs at each look, increasing; the last is the maximum.
    looks: Vec<u32>,
    /// The whole error budget, 1 − confidence.
    alpha: f64,
}

impl SequentialPlan {
    /// Looks from `first` round pairs up to `max_rounds`, spending `1 − confidence`.
    pub(crate) fn new(first: u32, max_rounds: u32, confidence: f64) -> Result<Self, String> {
        let min = MIN_PAIRED_ROUNDS as u32;
        if first < min {
            return Err(format!(
                "the first look needs at least {min} round pairs, not {first}"
            ));
        }
        if max_rounds < first {
            return Err(format!(
                "--max-rounds {max_rounds} is below the first look's {first} rounds"
            ));
        }
        let mut looks = vec![first];
        while let Some(&last) = looks.last()
            && last < max_rounds
        {
            let next = ((f64::from(last) * GROWTH).ceil() as u32).max(last + 2);
            // A last step shorter than half a step is folded into the one before.
            if next >= max_rounds || max_rounds - next < (next - last) / 2 {
                looks.push(max_rounds);
            } else {
                looks.push(next);
            }
        }
        Ok(Self {
            looks,
            alpha: 1.0 - confidence,
        })
    }

    /// Round pairs at each look.
    pub(crate) fn rounds(&self) -> &[u32] {
        &self.looks
    }

    pub(crate) fn max_rounds(&self) -> u32 {
        *self.looks.last().expect("a plan has a look")
    }

    /// The `index`-th look (0-based) with its level: 1 − α·(t_k² − t_{k−1}²) with t = n/N,
    /// the first look taking α·t_1².
    pub(crate) fn look(&self, index: usize) -> Look {
        let n = self.looks[index];
        let before = if index == 0 { 0 } else { self.looks[index - 1] };
        let spent = self.alpha * (self.spending(n) - self.spending(before));
        Look {
            index: index as u32 + 1,
            looks: self.looks.len() as u32,
            rounds: n,
            max_rounds: self.max_rounds(),
            confidence: 1.0 - spent,
        }
    }

    /// The share of α spent by the looks up to `rounds` round pairs: t² with t = n/N.
    fn spending(&self, rounds: u32) -> f64 {
        (f64::from(rounds) / f64::from(self.max_rounds())).powi(2)
    }

    /// A last look in place of look `index` (0-based) at `rounds` round pairs, more than the
    /// look before (at least one for the first) and at most the planned ones: for a time
    /// budget that will not hold the planned look at the pace so far, or that ended during
    /// it. It spends everything the plan has not spent yet, α·(1 − t_{k−1}²) (all of α in
    /// place of the first look), so the levels of the looks that ran still sum to α; how many
    /// round pairs are judged is decided by the clock alone, not by what they measured.
    pub(crate) fn last_look_at(&self, index: usize, rounds: u32) -> Look {
        let before = if index == 0 { 0 } else { self.looks[index - 1] };
        assert!(
            before < rounds && rounds <= self.looks[index],
            "a last look lies between two planned looks"
        );
        Look {
            index: index as u32 + 1,
            looks: index as u32 + 1,
            rounds,
            max_rounds: self.max_rounds(),
            confidence: 1.0 - self.alpha * (1.0 - self.spending(before)),
        }
    }

    /// The look at `rounds` round pairs judged again as the last look, spending everything
    /// the looks before it had not (`ab --until-decided --max-time` when no more round pair
    /// fits after it): None unless `rounds` is a planned look.
    pub(crate) fn judged_again_at(&self, rounds: u32) -> Option<Look> {
        let index = self.looks.iter().position(|&n| n == rounds)?;
        Some(self.last_look_at(index, rounds))
    }

    /// The look that judged exactly `rounds` round pairs (for judging kept rounds again): a
    /// planned look, or a last look cut short before a planned one
    /// ([`SequentialPlan::last_look_at`]). None for no round pairs or past the last look.
    pub(crate) fn look_at(&self, rounds: u32) -> Option<Look> {
        let index = self.looks.iter().position(|&n| n >= rounds)?;
        if self.looks[index] == rounds {
            Some(self.look(index))
        } else if rounds > 0 {
            Some(self.last_look_at(index, rounds))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use rand_distr::{Distribution, Normal, StudentT};

    use super::*;
    use crate::stats::compare::{RowVerdict, classify};
    use crate::stats::estimate::trimmed_interval;

    #[test]
    fn the_looks_grow_and_spend_exactly_the_budget() {
        let plan = SequentialPlan::new(10, 40, 0.95).unwrap();
        assert_eq!(plan.rounds(), &[10, 14, 19, 26, 35, 40]);
        let spent: f64 = (0..plan.rounds().len())
            .map(|i| 1.0 - plan.look(i).confidence)
            .sum();
        assert!((spent - 0.05).abs() < 1e-12, "{spent}");
        assert_eq!(plan.look_at(19).unwrap().index, 3);
        assert!(plan.look_at(0).is_none() && plan.look_at(41).is_none());
        // A first look the time budget ended at 9 pairs is the only look: all of α.
        let first = plan.look_at(9).unwrap();
        assert_eq!((first.index, first.looks, first.rounds), (1, 1, 9));
        assert!((first.confidence - 0.95).abs() < 1e-12);
        // A last look cut short between looks 3 and 4 spends everything after look 3.
        let last = plan.look_at(22).unwrap();
        assert_eq!((last.index, last.looks, last.rounds), (4, 4, 22));
        let spent_before: f64 = (0..3).map(|i| 1.0 - plan.look(i).confidence).sum();
        assert!((spent_before + (1.0 - last.confidence) - 0.05).abs() < 1e-12);
        assert_eq!(plan.last_look_at(5, 40), plan.look(5));
        // The first look judged again as the last spends all of α; a later one the rest.
        let again = plan.judged_again_at(10).unwrap();
        assert_eq!((again.index, again.looks, again.rounds), (1, 1, 10));
        assert!((again.confidence - 0.95).abs() < 1e-12);
        let again = plan.judged_again_at(14).unwrap();
        assert_eq!((again.index, again.looks, again.rounds), (2, 2, 14));
        assert!((again.confidence - (1.0 - 0.05 * (1.0 - 0.0625))).abs() < 1e-12);
        assert!(plan.judged_again_at(12).is_none());
        assert_eq!(SequentialPlan::new(5, 5, 0.95).unwrap().rounds(), &[5]);
        assert!(SequentialPlan::new(2, 40, 0.95).is_err());
        assert!(SequentialPlan::new(10, 8, 0.95).is_err());
        // Quadratic: a 10-to-28 plan's last look gets 1 − (19/28)² ≈ 54% of α, its first
        // (10/28)² ≈ 13%.
        let five_minutes = SequentialPlan::new(10, 28, 0.95).unwrap();
        assert_eq!(five_minutes.rounds(), &[10, 14, 19, 28]);
        let share = |i: usize| (1.0 - five_minutes.look(i).confidence) / 0.05;
        assert!((share(3) - (1.0 - (19.0f64 / 28.0).powi(2))).abs() < 1e-12);
        assert!((share(0) - (10.0f64 / 28.0).powi(2)).abs() < 1e-12);
        assert!(((0..4).map(share).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    /// How one sequential A/B of a row ends: its verdict and the round pairs it took. Each
    /// round pair's difference is `shift` plus noise from `noise`; the rule is the one `ab
    /// --until-decided` applies (the paired trimmed interval at each look of `schedule`, at
    /// its level, judged against ±threshold, stop at the first decision).
    fn sequential_trial(
        rng: &mut SmallRng,
        schedule: &[(u32, f64)],
        shift: f64,
        noise: &impl Distribution<f64>,
        threshold: f64,
    ) -> (RowVerdict, u32) {
        let mut differences = Vec::new();
        let mut verdict = RowVerdict::Inconclusive;
        let mut taken = 0;
        for &(rounds, confidence) in schedule {
            while differences.len() < rounds as usize {
                differences.push(shift + noise.sample(rng));
            }
            taken = rounds;
            let i = trimmed_interval(&differences, 0.0, confidence);
            verdict = classify(i.low, i.high, threshold);
            if verdict != RowVerdict::Inconclusive {
                break;
            }
        }
        (verdict, taken)
    }

    /// The looks of `plan` with their levels or, without a plan, the fixed-n 95% interval
    /// re-checked after every round pair from 3 to 40.
    fn schedule(plan: Option<&SequentialPlan>) -> Vec<(u32, f64)> {
        match plan {
            Some(plan) => (0..plan.rounds().len())
                .map(|i| (plan.rounds()[i], plan.look(i).confidence))
                .collect(),
            None => (3..=40).map(|n| (n, 0.95)).collect(),
        }
    }

    struct Tally {
        regressed: u32,
        improved: u32,
        unchanged: u32,
        undecided: u32,
        mean_rounds: f64,
    }

    fn tally(
        seed: u64,
        trials: u32,
        plan: Option<&SequentialPlan>,
        shift: f64,
        noise: &impl Distribution<f64>,
    ) -> Tally {
        tally_schedule(seed, trials, &schedule(plan), shift, noise)
    }

    /// `trials` sequential A/Bs of one row judged at `schedule`'s looks against ±1.
    fn tally_schedule(
        seed: u64,
        trials: u32,
        schedule: &[(u32, f64)],
        shift: f64,
        noise: &impl Distribution<f64>,
    ) -> Tally {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut t = Tally {
            regressed: 0,
            improved: 0,
            unchanged: 0,
            undecided: 0,
            mean_rounds: 0.0,
        };
        let mut rounds = 0u64;
        for _ in 0..trials {
            let (verdict, taken) = sequential_trial(&mut rng, schedule, shift, noise, 1.0);
            rounds += u64::from(taken);
            match verdict {
                RowVerdict::Regressed => t.regressed += 1,
                RowVerdict::Improved => t.improved += 1,
                RowVerdict::Unchanged => t.unchanged += 1,
                RowVerdict::Inconclusive => t.undecided += 1,
            }
        }
        t.mean_rounds = rounds as f64 / f64::from(trials);
        t
    }

    const TRIALS: u32 = 4000;

    /// A time budget that holds 13 of a 10-to-40 plan's round pairs: the first look at the whole
    /// plan's level and a last look at 13 spending the rest, against α re-spread over a plan
    /// ending at 13. Codex's hogged noise in units of the threshold (round-pair sd 2.7 ms, a +5%
    /// shift of 3.0 ms, threshold 1.2 ms).
    #[test]
    fn a_time_budget_leaves_the_rest_of_alpha_to_its_last_look() {
        let plan = SequentialPlan::new(10, 40, 0.95).unwrap();
        let kept = [
            (10, plan.look(0).confidence),
            (13, plan.last_look_at(1, 13).confidence),
        ];
        let cut = SequentialPlan::new(10, 13, 0.95).unwrap();
        assert_eq!(cut.rounds(), &[10, 13]);
        let respread = [(10, cut.look(0).confidence), (13, cut.look(1).confidence)];
        // 1 − (10/40)² of α for the last look, against 1 − (10/13)².
        assert!((1.0 - kept[1].1 - 0.05 * (1.0 - 1.0 / 16.0)).abs() < 1e-12);
        assert!((1.0 - respread[1].1 - 0.05 * (1.0 - (10.0f64 / 13.0).powi(2))).abs() < 1e-12);
        let noise = Normal::new(0.0, 2.25).unwrap();
        let run = |seed, schedule: &[(u32, f64)], shift| {
            tally_schedule(seed, TRIALS, schedule, shift, &noise)
        };
        let (k, r) = (run(7, &kept, 2.5), run(7, &respread, 2.5));
        println!(
            "a shift of 2.5 thresholds in 13 round pairs: {} of {TRIALS} regressed with the rest \
             of α at the last look (mean {:.1} pairs), {} re-spread (mean {:.1})",
            k.regressed, k.mean_rounds, r.regressed, r.mean_rounds
        );
        // Measured 2,233 against 1,818 (seed 7): the gap is ~13 standard errors of either.
        assert!(
            k.regressed > r.regressed + TRIALS / 40,
            "{} against {}",
            k.regressed,
            r.regressed
        );
        // At the threshold, false regressions stay at the one-sided level. At 13 pairs the
        // trimmed interval itself runs a little over it (one fixed look at all of α: 96 to 120
        // of 4,000 over six seeds), so the bound is the level plus three standard errors of a
        // 4,000-trial count (100 + 30): what it checks is that spending the rest at the last
        // look adds nothing beyond the interval's own small-sample level.
        let at = run(8, &kept, 1.0);
        let single = run(8, &[(13, 0.95)], 1.0);
        println!(
            "at the threshold: {} of {TRIALS} regressed (one fixed look at all of α: {})",
            at.regressed, single.regressed
        );
        assert!(at.regressed <= 130, "{} of {TRIALS}", at.regressed);
        // A large change is still decided at the first look.
        let large = run(9, &kept, 8.0);
        assert!(large.regressed == TRIALS && large.mean_rounds < 10.5);
    }

    /// A change exactly at the threshold is the hardest case for false regressions: the
    /// one-sided level (2.5% for 95%) must hold whatever the stopping. Gaussian round noise
    /// and heavy-tailed (t with 3 df, the shape of a shared machine's stalls).
    #[test]
    fn optional_stopping_keeps_false_regressions_within_the_level() {
        let plan = SequentialPlan::new(10, 40, 0.95).unwrap();
        let gaussian = Normal::new(0.0, 2.0).unwrap();
        let heavy = StudentT::new(3.0).unwrap().map(|v| 1.5 * v);
        for (name, seed, t) in [
            ("gaussian", 1, tally(1, TRIALS, Some(&plan), 1.0, &gaussian)),
            ("t3", 2, tally(2, TRIALS, Some(&plan), 1.0, &heavy)),
        ] {
            println!(
                "at the threshold ({name}, seed {seed}): {} of {TRIALS} regressed, {} undecided, \
                 mean {:.1} round pairs",
                t.regressed, t.undecided, t.mean_rounds
            );
            assert!(
                f64::from(t.regressed) <= 0.025 * f64::from(TRIALS),
                "{name}: {} of {TRIALS} false regressions",
                t.regressed
            );
        }
        // The naive way would not hold: the fixed-n interval re-checked after each round pair.
        let naive = tally(3, TRIALS, None, 1.0, &gaussian);
        println!(
            "naive re-checking at the threshold: {} of {TRIALS} regressed",
            naive.regressed
        );
        assert!(
            f64::from(naive.regressed) > 0.05 * f64::from(TRIALS),
            "naive re-checking stayed within the level ({}): the test no longer shows why the \
             plan is needed",
            naive.regressed
        );
    }

    /// No change (A/A): no false regression or improvement beyond the level, and most trials
    /// end "unchanged" before the budget; a change of twice the threshold is caught.
    #[test]
    fn no_change_ends_unchanged_and_a_real_change_is_caught() {
        let plan = SequentialPlan::new(10, 40, 0.95).unwrap();
        // Round-pair noise of the threshold's size (sd 1 against ±1).
        let noise = Normal::new(0.0, 1.0).unwrap();
        let aa = tally(4, TRIALS, Some(&plan), 0.0, &noise);
        println!(
            "A/A: {} regressed, {} improved, {} unchanged, {} undecided of {TRIALS}; mean {:.1} \
             round pairs",
            aa.regressed, aa.improved, aa.unchanged, aa.undecided, aa.mean_rounds
        );
        assert!(f64::from(aa.regressed + aa.improved) <= 0.05 * f64::from(TRIALS));
        assert!(aa.unchanged > TRIALS * 9 / 10, "{} unchanged", aa.unchanged);
        let shifted = tally(5, TRIALS, Some(&plan), 2.0, &noise);
        println!(
            "shift of 2 thresholds: {} regressed, {} undecided of {TRIALS}; mean {:.1} round pairs",
            shifted.regressed, shifted.undecided, shifted.mean_rounds
        );
        assert!(shifted.regressed > TRIALS * 9 / 10, "{}", shifted.regressed);
        assert!(shifted.improved == 0);
        // A large change is decided at the first look.
        let large = tally(6, TRIALS, Some(&plan), 10.0, &noise);
        assert!(large.regressed == TRIALS && large.mean_rounds < 10.5);
    }
}

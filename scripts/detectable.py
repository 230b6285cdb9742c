#!/usr/bin/env python3
"""The smallest change a time-bounded sequential A/B detects, estimated.

`ab --until-decided --max-time T` judges at the looks of its plan (first look `--rounds`,
each next ×4/3, up to `--max-rounds`) and, when the budget will not hold the next look at
the pace so far, at a last look at the round pairs that fit, which spends what is left of α
(harness/src/stats/sequential.rs and harness/src/commands/ab/until.rs; this script mirrors
their rules). From a measured round-pair sd of the statistic's B − A difference and the
seconds a round pair takes, it finds that last look for each budget and estimates the change
it detects with the given power:

    threshold + (t(n − 1 df, one-sided α_last / (2 × primary rows)) + z(power)) × sd / √n

at the last look alone (the earlier looks only add to the power), Holm's first step over the
primary rows. An estimate under a normal model of the round-pair differences, not a
measurement: `scripts/sequential-power.sh` measures.

    python3 scripts/detectable.py --sd 1.24 --pace 8.2 --threshold 1.0 --p50 48
"""

import argparse
import math
from statistics import NormalDist

GROWTH = 4.0 / 3.0
TIME_USED = 0.97  # the share of --max-time the looks are paced to fill (until.rs)


def t_cdf(x: float, df: int) -> float:
    """Student's t distribution function, by Simpson's rule on the density from 0 to x."""
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(u: float) -> float:
        return math.exp(log_c - (df + 1) / 2 * math.log1p(u * u / df))

    steps = 4000
    h = x / steps
    total = density(0.0) + density(x)
    for i in range(1, steps):
        total += (4 if i % 2 else 2) * density(i * h)
    return 0.5 + total * h / 3


def t_quantile(p: float, df: int) -> float:
    lo, hi = 0.0, 1000.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def looks(first: int, max_rounds: int) -> list[int]:
    """The plan's looks (SequentialPlan::new)."""
    plan = [first]
    while plan[-1] < max_rounds:
        last = plan[-1]
        nxt = max(math.ceil(last * GROWTH), last + 2)
        if nxt >= max_rounds or max_rounds - nxt < (nxt - last) // 2:
            plan.append(max_rounds)
        else:
            plan.append(nxt)
    return plan


def last_look(budget_s: float, pace_s: float, first: int, max_rounds: int):
    """(round pairs, share of α) of the look that ends a run of `budget_s` at `pace_s` a pair."""
    plan = looks(first, max_rounds)

    def spent(n: int) -> float:
        return (n / max_rounds) ** 2

    if first * pace_s > budget_s:
        # The budget ends during the first look's rounds: the pairs before are judged at all of α.
        return int(budget_s / pace_s), 1.0
    paced = budget_s * TIME_USED
    done = 0
    for k, n in enumerate(plan):
        if k > 0 and n * pace_s > paced:
            fit = int((paced - done * pace_s) / pace_s)
            if fit == 0:
                # The look just judged is judged again as the last.
                return done, 1.0 - spent(plan[k - 2] if k >= 2 else 0)
            return done + fit, 1.0 - spent(plan[k - 1])
        done = n
    return done, spent(plan[-1]) - spent(plan[-2]) if len(plan) > 1 else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sd", type=float, required=True, help="round-pair sd of B − A, ms")
    parser.add_argument("--pace", type=float, required=True, help="seconds a round pair")
    parser.add_argument("--threshold", type=float, required=True, help="the row's threshold, ms")
    parser.add_argument("--p50", type=float, help="the statistic's value, ms (for a percentage)")
    parser.add_argument("--first", type=int, default=10, help="the first look (--rounds)")
    parser.add_argument("--max-rounds", type=int, default=40)
    parser.add_argument("--primary", type=int, default=3, help="primary rows (Holm)")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--power", type=float, default=0.95)
    parser.add_argument("--budgets", default="60,180,300", help="seconds, comma-separated")
    args = parser.parse_args()
    alpha = 1.0 - args.confidence
    z = NormalDist().inv_cdf(args.power)
    print("budget  last look (pairs)  share of α  detectable")
    for budget in (float(b) for b in args.budgets.split(",")):
        n, share = last_look(budget, args.pace, args.first, args.max_rounds)
        if n < 3:
            print(f"{budget:5.0f} s  {n:>17}  {'':>10}  none (a paired interval needs 3 pairs)")
            continue
        one_sided = alpha * share / args.primary / 2
        change = args.threshold + (t_quantile(1 - one_sided, n - 1) + z) * args.sd / math.sqrt(n)
        pct = f" = {100 * change / args.p50:.1f}%" if args.p50 else ""
        print(f"{budget:5.0f} s  {n:>17}  {share:>10.3f}  {change:.2f} ms{pct}")


if __name__ == "__main__":
    main()

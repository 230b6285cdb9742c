"""Decodes a phasebench --hlog interval log with the Python hdrhistogram package (HdrHistogram_py)
and checks every microsecond series against the run's JSON result: counts, p50/p90/p99, max."""
import json, sys
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader
hlog, result = sys.argv[1], sys.argv[2]
ref = HdrHistogram(1, 3_600_000_000, 3)
reader = HistogramLogReader(hlog, ref)
merged = {}
while True:
    h = reader.get_next_interval_histogram()
    if h is None:
        break
    tag = h.get_tag()
    if tag in merged:
        merged[tag].add(h)
    else:
        merged[tag] = h
rows = json.load(open(result))["metrics"]
checked = 0
for row in rows:
    if not row["count"] or row["resolution"] != "us":
        continue
    tag = row["metric"] + (f"[{row['status']}]" if row["status"] else "")
    h = merged[tag]
    assert h.get_total_count() == row["count"], (tag, h.get_total_count(), row["count"])
    for p, key in [(50, "p50_ms"), (90, "p90_ms"), (99, "p99_ms")]:
        got = h.get_value_at_percentile(p) / 1000.0
        want = row[key]
        assert abs(got - want) <= max(0.002, want * 0.001), (tag, p, got, want)
    assert abs(h.get_max_value() / 1000.0 - row["max_ms"]) <= max(0.002, row["max_ms"] * 0.001), (tag, "max")
    checked += 1
assert checked >= 10, checked
print(f"ok {checked} series")

//! The scenario's content hash: what it measures, not what it is called or how long it runs,
//! so a baseline is refused only when the measurement itself changed.

/// Top-level keys left out of [`Scenario::content_hash`]: how long a run is, what it is called,
/// how it is cut into rounds and how it is judged do not change what it measures.
pub(super) const UNHASHED_KEYS: [&str; 7] = [
    "name",
    "description",
    "iterations",
    "warmup",
    "iteration_timeout",
    "gate",
    "run",
];

/// `[codex]` keys left out too: which binary runs is the target's identity (its version is in
/// every result and compared runs show it), not the scenario's content, so an A/B of two codex
/// releases compares one scenario.
pub(super) const UNHASHED_CODEX_KEYS: [&str; 2] = ["binary", "version"];

pub(super) fn measurement_hash(merged: &str) -> String {
    let mut table: toml::Table = toml::from_str(merged).unwrap_or_default();
    for key in UNHASHED_KEYS {
        table.remove(key);
    }
    if let Some(toml::Value::Table(codex)) = table.get_mut("codex") {
        for key in UNHASHED_CODEX_KEYS {
            codex.remove(key);
        }
        // An empty table is the same scenario as none at all.
        if codex.is_empty() {
            table.remove("codex");
        }
    }
    fnv1a64(&toml::to_string(&table).unwrap_or_default())
}

fn fnv1a64(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

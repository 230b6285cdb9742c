//! Presentation: each output format renders what `results` and `stats` computed, and never
//! computes verdicts itself. Terminal tables ([`table`]), CSV ([`csv`]), Bencher Metric Format
//! ([`bmf`]), and comparisons as terminal text, Markdown and JSON ([`comparison`]).

pub mod bmf;
pub mod comparison;
pub mod csv;
pub mod table;

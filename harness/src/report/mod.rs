//! Presentation: every output format is an [`Exporter`] fed the same [`Document`], built once
//! ([`view`]) from what `results` and `stats` computed, so the formats carry the same rows,
//! the same reasons and the same digits ([`number`]). Formats lay out; they never compute a
//! verdict. Terminal ([`terminal`]), Markdown ([`markdown`]), CSV ([`csv`]), JSON ([`json`])
//! Bencher Metric Format ([`bmf`]), the Prometheus exposition format ([`prometheus`]), HTML
//! ([`html`], which draws a [`Document::Pictured`] run; the sweep's page is its own), and for
//! a [`Document::Recorded`] run HdrHistogram interval logs ([`hlog`]) and Chrome traces
//! ([`trace`]). A command's requested outputs are one [`outputs::OutputSet`].

pub(crate) mod bmf;
pub(crate) mod csv;
pub(crate) mod hlog;
pub(crate) mod html;
pub(crate) mod ingest;
pub(crate) mod json;
pub(crate) mod limit;
pub(crate) mod markdown;
pub(crate) mod number;
pub(crate) mod outputs;
pub(crate) mod page;
pub(crate) mod pairings;
pub(crate) mod prometheus;
pub(crate) mod svg;
pub(crate) mod sweep;
pub(crate) mod terminal;
pub(crate) mod text;
pub(crate) mod trace;
pub(crate) mod view;

#[cfg(test)]
mod snapshot_tests;

use crate::stats::compare::Comparison;

pub(crate) use text::printable;
pub(crate) use view::{MetricTable, RunView};

/// What can be exported.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Document<'a> {
    /// A whole run: its metric table, overhead, budgets, failures and warnings.
    Run(&'a RunView<'a>),
    /// A bare metric table (e.g. from `ingest`).
    Metrics(&'a MetricTable),
    /// A comparison with its verdicts.
    Comparison(&'a Comparison),
    /// A run with its distributions (and a baseline's): the HTML report; the other formats
    /// show its run.
    Pictured(&'a html::Pictured<'a>),
    /// A run with its rounds' series and kept timelines: the interval log and the trace; the
    /// other formats show its run.
    Recorded(&'a Recorded<'a>),
}

/// A run as measured: its view, each round's series, the timelines kept (`--trace`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recorded<'a> {
    pub(crate) view: &'a RunView<'a>,
    pub(crate) rounds: &'a [crate::results::DecodedRound],
    pub(crate) timelines: &'a [crate::measure::timeline::Timeline],
}

impl Document<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Document::Run(_) => "a run",
            Document::Metrics(_) => "a metric table",
            Document::Comparison(_) => "a comparison",
            Document::Pictured(_) => "a run with its distributions",
            Document::Recorded(_) => "a recorded run",
        }
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Terminal,
    Markdown,
    Csv,
    Json,
    Bmf,
    Prometheus,
    Html,
    Hlog,
    Trace,
}

impl Format {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Terminal => "terminal",
            Format::Markdown => "Markdown",
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::Bmf => "Bencher Metric Format",
            Format::Prometheus => "Prometheus exposition format",
            Format::Html => "HTML",
            Format::Hlog => "HdrHistogram interval log",
            Format::Trace => "Chrome trace",
        }
    }

    /// The exporter of this format.
    pub(crate) fn exporter(self) -> &'static dyn Exporter {
        match self {
            Format::Terminal => &terminal::Terminal::PLAIN,
            Format::Markdown => &markdown::Markdown,
            Format::Csv => &csv::Csv,
            Format::Json => &json::Json,
            Format::Bmf => &bmf::Bmf,
            Format::Prometheus => &prometheus::Prometheus,
            Format::Html => &html::Html,
            Format::Hlog => &hlog::Hlog,
            Format::Trace => &trace::Trace,
        }
    }
}

/// A format that cannot show a kind of document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} cannot show {document}")]
pub(crate) struct Unsupported {
    pub format: &'static str,
    pub document: &'static str,
}

/// One output format.
pub(crate) trait Exporter: Sync {
    fn format(&self) -> Format;

    /// The document in this format, or why it cannot be shown in it.
    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported>;

    /// The refusal for a document this format does not show.
    fn unsupported(&self, document: Document<'_>) -> Unsupported {
        Unsupported {
            format: self.format().as_str(),
            document: document.kind(),
        }
    }
}

/// A document in a format known to show it (every format shows runs; comparisons all but
/// BMF and Prometheus): the commands' one way to export.
pub(crate) fn render(format: Format, document: Document<'_>) -> Vec<u8> {
    export(format, document).expect("the format shows this document")
}

/// `document` in `format`; a pictured run is its run in every format but HTML, a recorded
/// run its run in every format but the interval log and the trace.
pub(crate) fn export(format: Format, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
    match document {
        Document::Pictured(p) if format != Format::Html => {
            format.exporter().export(Document::Run(p.view))
        }
        Document::Recorded(r) if !matches!(format, Format::Hlog | Format::Trace) => {
            format.exporter().export(Document::Run(r.view))
        }
        _ => format.exporter().export(document),
    }
}

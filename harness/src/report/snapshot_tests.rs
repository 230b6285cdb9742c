//! Snapshots (insta) of the terminal, Markdown, CSV and Prometheus reports of committed result files
//! (`tests/data/results`: the rounds of `phasebench ab scenarios/default.toml --rounds 3 --set
//! iterations=180 --b-set backend.delays.first_token=60ms`), so a change of layout, digits or
//! wording shows in review.
//! Update with `cargo insta review` or `INSTA_UPDATE=always cargo test`.

use std::path::Path;

use crate::results::{LoadedResult, load_result};
use crate::stats::budget::rejudge;
use crate::stats::compare::{CompareOptions, paired_rounds};

use super::{Document, Format, RunView, export};

fn fixture(name: &str) -> LoadedResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/results")
        .join(name);
    let mut loaded = load_result(&path).unwrap();
    loaded.path = name.to_owned();
    loaded
}

fn text(format: Format, document: Document<'_>) -> String {
    String::from_utf8(export(format, document).unwrap()).unwrap()
}

#[test]
fn run_reports() {
    let a = fixture("a-round01.json");
    let view = RunView::new(&a.summary, &a.rounds);
    insta::assert_snapshot!("run_terminal", text(Format::Terminal, Document::Run(&view)));
    insta::assert_snapshot!("run_markdown", text(Format::Markdown, Document::Run(&view)));
    insta::assert_snapshot!("run_csv", text(Format::Csv, Document::Run(&view)));
    insta::assert_snapshot!(
        "run_prometheus",
        text(Format::Prometheus, Document::Run(&view))
    );
    // The pictured run: HTML draws it, every other format shows its run; HTML needs the
    // distributions a bare run view does not carry.
    let pictured = super::html::Pictured {
        view: &view,
        pooled: &a.pooled,
        baseline: None,
    };
    for format in [
        Format::Terminal,
        Format::Markdown,
        Format::Csv,
        Format::Json,
        Format::Bmf,
        Format::Prometheus,
    ] {
        assert_eq!(
            export(format, Document::Pictured(&pictured)),
            export(format, Document::Run(&view)),
            "{}",
            format.as_str()
        );
    }
    let html = text(Format::Html, Document::Pictured(&pictured));
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("turn_ttft"));
    assert!(export(Format::Html, Document::Run(&view)).is_err());
}

#[test]
fn comparison_reports() {
    let side = |s: &str| -> Vec<LoadedResult> {
        (1..=3)
            .map(|i| fixture(&format!("{s}-round{i:02}.json")))
            .collect()
    };
    let (a, b) = (side("a"), side("b"));
    let b_rounds: Vec<_> = b.iter().map(|r| r.pooled.clone()).collect();
    let budgets = rejudge(&b[0].summary.budgets, &b_rounds, 0.95);
    let c = paired_rounds(
        &a,
        &b,
        budgets,
        &CompareOptions {
            allow_mismatch: true,
            look: None,
            judging: None,
        },
    )
    .unwrap();
    insta::assert_snapshot!(
        "comparison_terminal",
        text(Format::Terminal, Document::Comparison(&c))
    );
    insta::assert_snapshot!(
        "comparison_markdown",
        text(Format::Markdown, Document::Comparison(&c))
    );
    // The summary counts the primary rows Holm judged against those the table marks.
    let mut partly = c.clone();
    partly.primary_rows = 2;
    for format in [Format::Terminal, Format::Markdown] {
        let shown = text(format, Document::Comparison(&partly));
        assert!(
            shown.contains("2 of the 6 primary rows (the others had no interval)"),
            "{shown}"
        );
    }
    // The A/B page describes the whole A/B: both sides, every round, not one child round.
    let page = String::from_utf8(super::page::html(&b, Some(("A", &a, &c)))).unwrap();
    let iterations: u64 = b.iter().map(|r| r.summary.plan.iterations).sum();
    let waited: u64 = b.iter().map(|r| r.summary.critical_path.iterations).sum();
    for side in ["B", "A"] {
        let whole = format!("{side}: default (builtin): {iterations} iterations in 3 rounds");
        assert!(page.contains(&whole), "{whole} missing from the page");
    }
    assert!(page.contains(&format!("critical path ({waited} iterations)")));
    assert!(page.contains("pooled from 3 result files of 3 rounds"));
}

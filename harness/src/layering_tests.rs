//! Dependencies point one way: a file in a stage folder may name (`crate::…`) only its own
//! stage and the stages before it; a command (`commands/`) names stages, commands and the
//! error type, never the crate root's re-exports or the command line; `lib.rs` only declares
//! and re-exports. Checked on the source text, so a new backwards import fails the tests with
//! the file and line that made it. Also here: the line rule (a file over 400 lines of code,
//! tests left out, says why in its module doc).

/// In pipeline order; `commands/`, `error.rs` and `cli/` sit on top and may use them all.
const STAGES: [&str; 9] = [
    "sys",
    "model",
    "scenario",
    "telemetry",
    "target",
    "measure",
    "results",
    "stats",
    "report",
];

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first path segment after each `crate::` on a line (`crate::stats::compare` → `stats`;
/// `crate::{a, b}` → `{`).
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = if rest.starts_with('{') {
            "{".to_owned()
        } else {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        out.push(name);
    }
    out
}

/// Every `crate::` path in the files under `dir`, with where it is.
fn paths_under(src: &std::path::Path, dir: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src.join(dir), &mut files);
    assert!(!files.is_empty(), "no files in {dir}/");
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line_no, line) in text.lines().enumerate() {
            for name in crate_paths(line) {
                let at = format!(
                    "{}:{}",
                    file.strip_prefix(src).unwrap().display(),
                    line_no + 1
                );
                out.push((at, name));
            }
        }
    }
    out
}

#[test]
fn no_stage_imports_a_later_stage_a_command_or_the_root() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for (rank, stage) in STAGES.iter().enumerate() {
        for (at, name) in paths_under(&src, stage) {
            checked += 1;
            match STAGES.iter().position(|s| *s == name) {
                Some(used) if used <= rank => {}
                Some(_) => violations.push(format!("{at}: {stage} uses the later stage {name}")),
                // The commands, the command line, the error type, the facade's re-exports:
                // all built on the stages, none for them to use.
                None => violations.push(format!(
                    "{at}: {stage} uses crate::{name}, which is not a stage before it"
                )),
            }
        }
    }
    assert!(checked > 50, "the check found only {checked} references");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// Earlier stages a stage must not name even so: the result file's format does not depend on
/// the targets (what it says about them is in `model`).
const SKIPPED: [(&str, &str); 1] = [("results", "target")];

#[test]
fn the_result_format_names_no_target() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (stage, skipped) in SKIPPED {
        let paths = paths_under(&src, stage);
        assert!(
            paths.len() > 10,
            "found only {} paths in {stage}/",
            paths.len()
        );
        for (at, name) in paths {
            if name == skipped {
                violations.push(format!("{at}: {stage} uses {skipped}"));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn commands_use_stages_commands_and_the_error_type_not_the_root() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: Vec<&str> = STAGES
        .iter()
        .copied()
        .chain(["commands", "error"])
        .collect();
    let mut checked = 0;
    let violations: Vec<String> = paths_under(&src, "commands")
        .into_iter()
        .inspect(|_| checked += 1)
        .filter(|(_, name)| !allowed.contains(&name.as_str()))
        .map(|(at, name)| format!("{at}: a command uses crate::{name} (the root or the CLI)"))
        .collect();
    assert!(checked > 50, "the check found only {checked} references");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_crate_root_is_a_front_door() {
    let lib = include_str!("lib.rs");
    let lines = code_lines(lib);
    assert!(
        lines <= 120,
        "lib.rs has {lines} lines; it holds modules and re-exports only"
    );
    let defines: Vec<&str> = lib
        .lines()
        .filter(|l| {
            [
                "fn ", "struct ", "enum ", "impl ", "trait ", "const ", "static ",
            ]
            .iter()
            .any(|kw| l.starts_with(kw) || l.starts_with(&format!("pub {kw}")))
        })
        .collect();
    assert!(defines.is_empty(), "lib.rs defines items: {defines:?}");
}

/// A file's lines without its test-only items (a `#[cfg(test)]` item at the top level: a
/// `mod x;` line, or a block up to its closing `}` at column 0).
fn code_lines(text: &str) -> usize {
    let mut count = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line != "#[cfg(test)]" {
            count += 1;
            continue;
        }
        match lines.next() {
            Some(item) if item.trim_end().ends_with('{') => {
                for inner in lines.by_ref() {
                    if inner == "}" {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    count
}

#[test]
fn code_lines_leave_out_test_items_only() {
    let text = "a\n#[cfg(test)]\nmod fuzz;\nb\n#[cfg(test)]\nmod tests {\n    x\n}\nc\n";
    assert_eq!(code_lines(text), 3);
}

#[test]
fn long_files_say_why_in_their_module_doc() {
    const LIMIT: usize = 400;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "../thread_runtime/src", "../mock_backend/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 40, "found only {} files", files.len());
    let unexplained: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let n = code_lines(&text);
            let doc: String = text.lines().take_while(|l| l.starts_with("//!")).collect();
            (n > LIMIT && !doc.contains("Why one long file"))
                .then(|| format!("{} ({n} lines before its tests)", file.display()))
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "files over {LIMIT} lines (tests left out) whose module doc does not say why (\"Why one long file: …\"), \
         or split them: {unexplained:#?}"
    );
}

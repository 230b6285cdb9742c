//! The pipeline's stages depend one way: a file in a stage folder may name (`crate::…`) only
//! its own stage and the stages before it. Checked on the source text, so a new backwards
//! import fails the tests with the file and line that made it.

/// In pipeline order; the commands on top (`lib.rs`, `main.rs`, `ab/`, `ingest.rs`, `push.rs`, …) may use
/// them all.
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

#[test]
fn no_stage_imports_a_later_stage() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for (rank, stage) in STAGES.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(stage), &mut files);
        assert!(!files.is_empty(), "no files in {stage}/");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line_no, line) in text.lines().enumerate() {
                let mut rest = line;
                while let Some(at) = rest.find("crate::") {
                    rest = &rest[at + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if let Some(used) = STAGES.iter().position(|s| *s == name) {
                        checked += 1;
                        if used > rank {
                            violations.push(format!(
                                "{}:{}: {stage} uses the later stage {name}",
                                file.strip_prefix(&src).unwrap().display(),
                                line_no + 1
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 50, "the check found only {checked} references");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// Lines of a file before its unit tests.
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .count()
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
        "files over {LIMIT} lines whose module doc does not say why (\"Why one long file: …\"), \
         or split them: {unexplained:#?}"
    );
}

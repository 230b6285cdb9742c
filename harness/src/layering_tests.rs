//! The pipeline's stages depend one way: a file in a stage folder may name (`crate::…`) only
//! its own stage and the stages before it. Checked on the source text, so a new backwards
//! import fails the tests with the file and line that made it.

/// In pipeline order; the commands on top (`lib.rs`, `main.rs`, `ab.rs`, `ingest.rs`) may use
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

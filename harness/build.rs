//! Embeds the git commit this binary is built from (`PHASEBENCH_BUILD_COMMIT`), so that a
//! result names the build that measured it, not whatever checkout the binary was run in (an
//! A/B of two builds run from one directory would otherwise name one commit twice). Outside a
//! git checkout (a crate tarball) the variable is empty and results say "unknown".

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=PHASEBENCH_BUILD_COMMIT={commit}");
    // `phasebench --version`: the version and, when known, the commit it was built from.
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let long = match commit.get(..10) {
        Some(short) => format!("{version} (commit {short})"),
        None => version,
    };
    println!("cargo:rustc-env=PHASEBENCH_VERSION_LINE={long}");
    // Rebuilt when HEAD moves: HEAD itself (a checkout) and the branch it points at (a commit).
    // Only files that exist are named: cargo reruns a build script on every build for a path
    // that does not (a checkout without packed-refs would recompile the crate each time).
    let watch = |path: &Path| {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = Path::new(&dir);
        watch(&dir.join("HEAD"));
        // Branch refs live in the common directory (shared by worktrees).
        let common = git(&["rev-parse", "--git-common-dir"])
            .map(|c| Path::new(env!("CARGO_MANIFEST_DIR")).join(c))
            .unwrap_or_else(|| dir.to_path_buf());
        watch(&common.join("packed-refs"));
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common.join(branch));
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

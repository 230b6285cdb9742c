//! Codex releases as an axis: `codex.version = "0.169.0"` runs that published release,
//! installed from the npm registry (`@openai/codex@VERSION`) into phasebench's cache once
//! (`$PHASEBENCH_CACHE_DIR/codex-releases/VERSION`, see [`super::aged::cache_base`]; installed
//! in a scratch directory and renamed into place). The project's own pinned install is used
//! when it is that version. Releases ship their binary at different paths in the package
//! (`vendor/<triple>/bin/codex` in the platform package since ~0.130, `vendor/<triple>/codex/codex`
//! before), so the installed tree is searched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CodexError;

/// How long one `npm install` may take.
const INSTALL_DEADLINE: Duration = Duration::from_secs(600);

/// The codex binary inside an npm install tree, wherever this release keeps it.
pub(crate) fn find_binary(root: &Path) -> Option<PathBuf> {
    let modules = root.join("node_modules/@openai");
    let mut stack = vec![modules];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && path.file_name().is_some_and(|n| n == "codex")
                && path.components().any(|c| c.as_os_str() == "vendor")
                && path.to_string_lossy().contains(std::env::consts::ARCH)
            {
                return Some(path);
            }
        }
    }
    None
}

/// The release an npm-installed codex binary belongs to: the `@openai/codex` package beside
/// the platform package that holds it.
fn installed_version(binary: &Path) -> Option<String> {
    let modules = binary.ancestors().find(|a| a.ends_with("node_modules"))?;
    let text = std::fs::read_to_string(modules.join("@openai/codex/package.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["version"].as_str().map(str::to_owned)
}

/// A codex already installed at `version`: `$PHASEBENCH_CODEX_BIN` or the project's pinned
/// install, when either is that release.
fn already_installed(version: &str) -> Option<PathBuf> {
    std::env::var_os("PHASEBENCH_CODEX_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::iter::once(PathBuf::from(super::NPM_INSTALL_PATH)))
        .filter(|p| p.is_file())
        .find(|p| installed_version(p).as_deref() == Some(version))
}

/// The binary of `version`, installing it first when the cache does not hold it.
pub(crate) async fn binary_for(version: &str) -> Result<PathBuf, CodexError> {
    let fail = |message: String| CodexError::Release {
        version: version.to_owned(),
        message,
    };
    if let Some(installed) = already_installed(version) {
        return std::path::absolute(installed).map_err(|e| fail(e.to_string()));
    }
    let base = super::aged::cache_base().join("codex-releases");
    let dir = base.join(version);
    if let Some(binary) = find_binary(&dir) {
        return Ok(binary);
    }
    std::fs::create_dir_all(&base).map_err(|e| fail(e.to_string()))?;
    let scratch = tempfile::Builder::new()
        .prefix("installing-")
        .tempdir_in(&base)
        .map_err(|e| fail(e.to_string()))?;
    let mut npm = tokio::process::Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        "--prefix",
    ])
    .arg(scratch.path())
    .arg(format!("@openai/codex@{version}"))
    .stdin(std::process::Stdio::null())
    .kill_on_drop(true);
    let out = tokio::time::timeout(INSTALL_DEADLINE, npm.output())
        .await
        .map_err(|_| fail(format!("npm install took over {INSTALL_DEADLINE:?}")))?
        .map_err(|e| fail(format!("cannot run npm: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!(
            "npm install failed ({}): {}",
            out.status,
            stderr.trim().chars().take(600).collect::<String>()
        )));
    }
    if find_binary(scratch.path()).is_none() {
        return Err(fail(
            "the installed package holds no codex binary for this platform".into(),
        ));
    }
    let installed = scratch.keep();
    if std::fs::rename(&installed, &dir).is_err() {
        // Another run installed it meanwhile: use theirs.
        let _ = std::fs::remove_dir_all(&installed);
    }
    find_binary(&dir).ok_or_else(|| fail("the installed release has no codex binary".into()))
}

/// Published releases (`npm view @openai/codex versions`), stable ones only, oldest first.
pub(crate) async fn published() -> Result<Vec<String>, CodexError> {
    let fail = |message: String| CodexError::Release {
        version: "(list)".into(),
        message,
    };
    let mut npm = tokio::process::Command::new("npm");
    npm.args(["view", "@openai/codex", "versions", "--json"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), npm.output())
        .await
        .map_err(|_| fail("npm view took over 120 s".into()))?
        .map_err(|e| fail(format!("cannot run npm: {e}")))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    let versions: Vec<String> =
        serde_json::from_slice(&out.stdout).map_err(|e| fail(e.to_string()))?;
    let mut stable: Vec<String> = versions
        .into_iter()
        .filter(|v| !v.contains('-') && parse(v).is_some())
        .collect();
    stable.sort_by_key(|v| parse(v));
    Ok(stable)
}

/// `MAJOR.MINOR.PATCH` as numbers, for ordering.
pub(crate) fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.split('-').next()?.split('.');
    let numbers = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    parts.next().is_none().then_some(numbers)
}

/// The releases from `from` to `to` (both included) among `published`, every `every`-th one
/// (the ends always kept).
pub(crate) fn between(published: &[String], from: &str, to: &str, every: usize) -> Vec<String> {
    let (Some(lo), Some(hi)) = (parse(from), parse(to)) else {
        return Vec::new();
    };
    let inside: Vec<&String> = published
        .iter()
        .filter(|v| parse(v).is_some_and(|p| lo <= p && p <= hi))
        .collect();
    let every = every.max(1);
    let last = inside.len().saturating_sub(1);
    inside
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i == last)
        .map(|(_, v)| (*v).clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically_and_ranges_thin_out() {
        assert!(parse("0.120.0") > parse("0.99.9"));
        assert_eq!(parse("0.169.0-alpha.1"), Some((0, 169, 0)));
        assert_eq!(parse("1.2"), None);
        let published: Vec<String> = [
            "0.99.0", "0.120.0", "0.121.0", "0.130.0", "0.150.0", "0.171.0",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            between(&published, "0.120.0", "0.171.0", 1),
            ["0.120.0", "0.121.0", "0.130.0", "0.150.0", "0.171.0"]
        );
        assert_eq!(
            between(&published, "0.120.0", "0.171.0", 2),
            ["0.120.0", "0.130.0", "0.171.0"]
        );
    }

    #[test]
    fn binaries_are_found_at_either_layout() {
        let dir = tempfile::tempdir().unwrap();
        let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
        let old = dir
            .path()
            .join(format!("node_modules/@openai/codex/vendor/{triple}/codex"));
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("codex"), "").unwrap();
        assert_eq!(find_binary(dir.path()), Some(old.join("codex")));
        assert_eq!(find_binary(&dir.path().join("nothing")), None);
    }
}

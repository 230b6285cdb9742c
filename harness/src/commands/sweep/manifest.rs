//! A sweep's manifest: the file beside its points that names each by its parameter values,
//! so `rank` (and a reader) can say `backend.delays.ws_handshake=40ms`, not `point-03.json`.
//! Written by the sweep after every point; read back as untrusted input.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The file in a sweep's directory that names each point by its parameter values.
pub(crate) const MANIFEST: &str = "sweep-points.json";
/// Largest manifest read back (1,000 points of long values fit many times over).
const MANIFEST_MAX_BYTES: u64 = 4 << 20;

/// Which parameter values each point file ran with.
#[derive(Debug, Serialize, serde::Deserialize)]
pub(super) struct Manifest {
    pub(super) schema_version: u32,
    pub(super) keys: Vec<String>,
    pub(super) points: Vec<ManifestPoint>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub(super) struct ManifestPoint {
    /// The point's file name in the directory (`point-NN.json`).
    pub(super) file: String,
    /// One value per key.
    pub(super) values: Vec<String>,
}

/// Each point file's name in `dir` → its label (`backend.delays.ws_handshake=40ms`), from
/// the sweep's manifest. The manifest is untrusted: read bounded, labels made printable, a
/// point whose values do not match the keys left unnamed (its path names it); no manifest
/// (a sweep from before it existed, or files gathered by hand) gives no labels.
pub(crate) fn point_labels(dir: &Path) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let mut text = String::new();
    let read = std::fs::File::open(dir.join(MANIFEST))
        .and_then(|f| f.take(MANIFEST_MAX_BYTES + 1).read_to_string(&mut text));
    let manifest: Option<Manifest> = match read {
        Ok(n) if (n as u64) <= MANIFEST_MAX_BYTES => serde_json::from_str(&text).ok(),
        _ => None,
    };
    let Some(manifest) = manifest else {
        return Default::default();
    };
    manifest
        .points
        .into_iter()
        .filter(|p| p.values.len() == manifest.keys.len())
        .map(|p| {
            let label: Vec<String> = manifest
                .keys
                .iter()
                .zip(&p.values)
                .map(|(k, v)| crate::report::printable(&format!("{k}={v}")))
                .collect();
            (p.file, label.join(" "))
        })
        .collect()
}

/// The point files of a sweep directory, in order (for re-reading a sweep).
pub(crate) fn point_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("point-"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_a_well_formed_manifest_only() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            point_labels(dir.path()).is_empty(),
            "no manifest, no labels"
        );
        let manifest = Manifest {
            schema_version: 1,
            keys: vec!["backend.delays.ws_handshake".into(), "concurrency".into()],
            points: vec![
                ManifestPoint {
                    file: "point-01.json".into(),
                    values: vec!["40ms".into(), "4".into()],
                },
                ManifestPoint {
                    file: "point-02.json".into(),
                    values: vec!["\u{1b}[2J".into()],
                },
                ManifestPoint {
                    file: "point-03.json".into(),
                    values: vec!["\u{1b}[2J".into(), "1".into()],
                },
            ],
        };
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let labels = point_labels(dir.path());
        assert_eq!(
            labels["point-01.json"],
            "backend.delays.ws_handshake=40ms concurrency=4"
        );
        assert!(
            !labels.contains_key("point-02.json"),
            "values do not match the keys"
        );
        assert!(
            !labels["point-03.json"].contains('\u{1b}'),
            "escapes are made printable"
        );
        std::fs::write(dir.path().join(MANIFEST), b"{not json").unwrap();
        assert!(point_labels(dir.path()).is_empty());
    }
}

//! What every stage may use and that is about the process, not about latency: where outputs
//! go ([`output`]), how a stop request travels ([`shutdown`]), and how an input file is read
//! without trusting its size ([`read_bounded`]). Depends on nothing else in the crate.

pub mod output;
pub mod shutdown;

/// `text` as one file name component: letters, digits and dots kept, anything else (path
/// separators included) becomes `_`, and a name of dots only (`.`, `..`) becomes underscores.
pub fn path_safe(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.chars().all(|c| c == '.') {
        "_".repeat(safe.len().max(1))
    } else {
        safe
    }
}

/// Why [`read_bounded`] returned no bytes.
#[derive(Debug)]
pub enum BoundedReadError {
    Io(std::io::Error),
    /// The file holds more than the limit.
    TooLarge,
}

/// The whole of the file at `path`, refused (without reading further) when it holds more than
/// `limit` bytes: no input file decides how much memory it takes.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, BoundedReadError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(BoundedReadError::Io)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(BoundedReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bounded_reads_take_the_limit_and_refuse_one_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(super::read_bounded(&path, 10).unwrap(), [7u8; 10]);
        assert!(matches!(
            super::read_bounded(&path, 9),
            Err(super::BoundedReadError::TooLarge)
        ));
        assert!(matches!(
            super::read_bounded(&dir.path().join("missing"), 9),
            Err(super::BoundedReadError::Io(_))
        ));
    }

    #[test]
    fn names_lose_their_separators() {
        assert_eq!(super::path_safe("0.169.0"), "0.169.0");
        assert_eq!(super::path_safe("../a b/c"), ".._a_b_c");
        assert_eq!(super::path_safe(".."), "__");
        assert_eq!(super::path_safe(""), "_");
    }
}

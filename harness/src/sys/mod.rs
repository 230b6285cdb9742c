//! What every stage may use and that is about the process, not about latency: where outputs
//! go ([`output`]), how a stop request travels ([`shutdown`]), which CPUs a child may run on
//! ([`affinity`]), and how an input file is read without trusting its size
//! ([`read_bounded`]). Depends on nothing else in the crate.

pub(crate) mod affinity;
pub(crate) mod cpu;
pub(crate) mod lock;
pub(crate) mod output;
pub(crate) mod process;
pub(crate) mod shutdown;

/// `text` as one file name component: letters, digits and dots kept, anything else (path
/// separators included) becomes `_`, and a name of dots only (`.`, `..`) becomes underscores.
pub(crate) fn path_safe(text: &str) -> String {
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
pub(crate) enum BoundedReadError {
    Io(std::io::Error),
    /// The file holds more than the limit.
    TooLarge,
    /// Not a regular file: a device, FIFO, socket or directory (named), never read.
    NotAFile(&'static str),
}

impl std::fmt::Display for BoundedReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoundedReadError::Io(e) => write!(f, "{e}"),
            BoundedReadError::TooLarge => f.write_str("too large"),
            BoundedReadError::NotAFile(kind) => {
                write!(f, "it is {kind}, not a regular file; give a file")
            }
        }
    }
}

/// The whole of the regular file at `path`, refused (without reading further) when it holds
/// more than `limit` bytes: no input file decides how much memory it takes. Anything but a
/// regular file is refused before a byte is read: `/dev/zero` never ends, a FIFO may never
/// open or never close. The open does not block (`O_NONBLOCK`, which regular files ignore).
pub(crate) fn read_bounded(
    path: &std::path::Path,
    limit: u64,
) -> Result<Vec<u8>, BoundedReadError> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(BoundedReadError::Io)?;
    let metadata = file.metadata().map_err(BoundedReadError::Io)?;
    let kind = metadata.file_type();
    if !kind.is_file() {
        return Err(BoundedReadError::NotAFile(if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a file"
        }));
    }
    // Refused by its size before a byte is read; the read stays bounded for a file that
    // grows meanwhile, into a buffer sized once (not doubled past the bound).
    if metadata.len() > limit {
        return Err(BoundedReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).map_or(0, |n| n + 1));
    file.take(limit.saturating_add(1))
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
    fn devices_fifos_and_directories_are_refused_unread() {
        use super::{BoundedReadError::NotAFile, read_bounded};
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer: a blocking open would wait forever.
        assert!(matches!(read_bounded(&fifo, 10), Err(NotAFile("a FIFO"))));
        assert!(matches!(
            read_bounded(std::path::Path::new("/dev/zero"), 10),
            Err(NotAFile("a character device"))
        ));
        assert!(matches!(
            read_bounded(dir.path(), 10),
            Err(NotAFile("a directory"))
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

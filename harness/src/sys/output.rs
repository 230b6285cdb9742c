//! Where phasebench writes what it produces (result JSON, CSV, BMF, Markdown, comparisons).
//!
//! One layer for every output, because the ways to get this wrong are many and each was hit:
//!
//! * `-` is standard output.
//! * A path that exists and is not a regular file (`/dev/null`, `/dev/full`, a FIFO, a terminal)
//!   is written *through*: opened for writing, never renamed over. An atomic rename over a
//!   device node replaced `/dev/null` with a regular file when run as root.
//! * A symbolic link is followed: a link to a regular file gets the atomic write at the file it
//!   names (the link stays a link), a link to anything else is written through.
//! * A regular file (or a new one) is written atomically: a temporary file in the same
//!   directory, synced, then renamed over the target, so a reader never sees half a file and a
//!   full disk leaves the previous file intact. A new file gets the mode the umask gives
//!   (`0666 & !umask`), an existing one keeps its mode.
//! * Appending (the Markdown job summary) to a regular file is atomic too: the old content and
//!   the new are written to a temporary file that replaces the old one, so a full disk never
//!   leaves half a report.
//! * [`Destination::check`] runs before any work: a missing directory, a directory given as a
//!   file or an unwritable place fails in the first second, not after an hour of measuring.
//!   Missing directories are never created silently.
//! * Read-modify-write (appending; a baseline history gaining runs) holds an exclusive lock
//!   ([`super::lock::lock_for_update`]) from the read to the rename, so concurrent writers (parallel CI
//!   jobs sharing one history or one job summary) queue instead of losing each other's work.
//! * Writing through has a deadline: a FIFO nobody opens for reading, or whose reader stops
//!   reading, fails after [`WRITE_THROUGH_DEADLINE`] instead of hanging the run.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How long writing through (a FIFO, a device) may wait for a reader or for room.
pub(crate) const WRITE_THROUGH_DEADLINE: Duration = Duration::from_secs(30);

/// Where one output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`: standard output.
    Stdout,
    /// A path: a regular file (written atomically) or anything else (written through).
    Path(PathBuf),
}

/// Why an output could not be written (or would not be writable).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "cannot write {path}: the directory {dir} does not exist (create it first, e.g. mkdir -p {dir})"
    )]
    MissingDirectory { path: String, dir: String },
    #[error("cannot write {path}: it is a directory; give a file name")]
    IsDirectory { path: String },
    #[error(
        "cannot write {path}: no process opened it for reading within {0:?}",
        WRITE_THROUGH_DEADLINE
    )]
    NoReader { path: String },
    #[error(
        "cannot write {path}: its reader stopped reading for {0:?}",
        WRITE_THROUGH_DEADLINE
    )]
    Stalled { path: String },
    #[error("--markdown and --comparison-json write a comparison: give --baseline too")]
    NoComparison,
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl FromStr for Destination {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "-" {
            Destination::Stdout
        } else {
            Destination::Path(PathBuf::from(s))
        })
    }
}

impl From<PathBuf> for Destination {
    fn from(path: PathBuf) -> Self {
        Destination::Path(path)
    }
}

impl From<&Path> for Destination {
    fn from(path: &Path) -> Self {
        Destination::Path(path.to_owned())
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Stdout => f.write_str("standard output"),
            Destination::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What a path is, for deciding how to write it.
enum Kind {
    /// A regular file at this (link-resolved) path, with its mode.
    Regular(PathBuf, Permissions),
    /// Nothing there yet: created atomically.
    Missing,
    /// A device, FIFO or socket (or a link to one, or a link that cannot be resolved).
    WriteThrough,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(super) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A new file needs its directory: never created silently.
fn directory_exists(path: &Path) -> Result<(), OutputError> {
    let dir = parent_of(path);
    if dir.is_dir() {
        Ok(())
    } else {
        Err(OutputError::MissingDirectory {
            path: path.display().to_string(),
            dir: dir.display().to_string(),
        })
    }
}

fn classify(path: &Path) -> Result<Kind, OutputError> {
    let shown = || path.display().to_string();
    let link = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(e) => return Err(io_error(path)(e)),
    };
    let (resolved, meta) = if link.file_type().is_symlink() {
        // /dev/stdout → /proc/self/fd/1 → "pipe:[…]" does not resolve to a path; a dangling
        // link is created through. Both are written through the link.
        match (std::fs::canonicalize(path), std::fs::metadata(path)) {
            (Ok(resolved), Ok(meta)) => (resolved, meta),
            _ => return Ok(Kind::WriteThrough),
        }
    } else {
        (path.to_owned(), link)
    };
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return Err(OutputError::IsDirectory { path: shown() });
    }
    if file_type.is_file() {
        return Ok(Kind::Regular(resolved, meta.permissions()));
    }
    debug_assert!(
        file_type.is_char_device()
            || file_type.is_block_device()
            || file_type.is_fifo()
            || file_type.is_socket()
    );
    Ok(Kind::WriteThrough)
}

/// Opens a temporary file beside `target` with `mode` (subject to the umask for new files).
fn temporary_beside(
    target: &Path,
    mode: Option<&Permissions>,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".phasebench-").suffix(".tmp");
    // 0666 is what `open(O_CREAT)` asks for; the kernel takes the umask off.
    let fresh = Permissions::from_mode(0o666);
    builder.permissions(mode.cloned().unwrap_or(fresh));
    let tmp = builder.tempfile_in(parent_of(target))?;
    if let Some(mode) = mode {
        // An existing file keeps its mode exactly, whatever the umask.
        tmp.as_file().set_permissions(mode.clone())?;
    }
    Ok(tmp)
}

fn replace_atomically(
    target: &Path,
    mode: Option<&Permissions>,
    parts: &[&[u8]],
) -> std::io::Result<()> {
    let mut tmp = temporary_beside(target, mode)?;
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        for part in parts {
            buffered.write_all(part)?;
        }
        buffered.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Opens a non-regular file for writing without blocking: a FIFO with no reader yet is
/// retried until one appears or the deadline passes.
fn open_through(path: &Path, append: bool, deadline: Instant) -> Result<File, OutputError> {
    loop {
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create(true)
            .custom_flags(libc::O_NONBLOCK);
        if append {
            options.append(true);
        } else {
            options.truncate(true);
        }
        match options.open(path) {
            Ok(file) => return Ok(file),
            // ENXIO: a FIFO with no reader.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if Instant::now() >= deadline {
                    return Err(OutputError::NoReader {
                        path: path.display().to_string(),
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(io_error(path)(e)),
        }
    }
}

fn write_through(path: &Path, bytes: &[u8], append: bool) -> Result<(), OutputError> {
    write_through_within(path, bytes, append, WRITE_THROUGH_DEADLINE)
}

fn write_through_within(
    path: &Path,
    bytes: &[u8],
    append: bool,
    within: Duration,
) -> Result<(), OutputError> {
    let deadline = Instant::now() + within;
    let mut file = open_through(path, append, deadline)?;
    let mut rest = bytes;
    while !rest.is_empty() {
        match file.write(rest) {
            Ok(0) => {
                return Err(io_error(path)(std::io::Error::from(ErrorKind::WriteZero)));
            }
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(OutputError::Stalled {
                        path: path.display().to_string(),
                    });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path)(e)),
        }
    }
    Ok(())
}

impl Destination {
    /// True for `-`.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Destination::Stdout)
    }

    /// Checks, before any work, that this output can be written: its directory exists and
    /// takes a new file, or it is a device or FIFO to write through. Writes nothing.
    pub fn check(&self) -> Result<(), OutputError> {
        let Destination::Path(path) = self else {
            return Ok(());
        };
        let (place, mode) = match classify(path)? {
            Kind::WriteThrough => return Ok(()),
            Kind::Regular(resolved, mode) => (resolved, Some(mode)),
            Kind::Missing => {
                directory_exists(path)?;
                (path.clone(), None)
            }
        };
        // The atomic write needs a new file beside the target: try one and remove it.
        temporary_beside(&place, mode.as_ref())
            .map(drop)
            .map_err(io_error(path))
    }

    /// Writes `bytes` as the whole content of this output.
    pub fn write(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let path = match self {
            Destination::Stdout => return write_stdout(bytes),
            Destination::Path(path) => path,
        };
        match classify(path)? {
            Kind::WriteThrough => write_through(path, bytes, false),
            Kind::Regular(resolved, mode) => {
                replace_atomically(&resolved, Some(&mode), &[bytes]).map_err(io_error(path))
            }
            Kind::Missing => {
                directory_exists(path)?;
                replace_atomically(path, None, &[bytes]).map_err(io_error(path))
            }
        }
    }

    /// Adds `bytes` at the end of this output (creating it when missing); concurrent
    /// appenders to one file each keep their part (under `sys::lock::lock_for_update`).
    pub fn append(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let path = match self {
            Destination::Stdout => return write_stdout(bytes),
            Destination::Path(path) => path,
        };
        if let Kind::WriteThrough = classify(path)? {
            return write_through(path, bytes, true);
        }
        let _lock = super::lock::lock_for_update(path)?;
        // Classified again under the lock: another appender may have created it meanwhile.
        match classify(path)? {
            Kind::WriteThrough => write_through(path, bytes, true),
            Kind::Regular(resolved, mode) => {
                let old = std::fs::read(&resolved).map_err(io_error(path))?;
                replace_atomically(&resolved, Some(&mode), &[&old, bytes]).map_err(io_error(path))
            }
            Kind::Missing => {
                directory_exists(path)?;
                replace_atomically(path, None, &[bytes]).map_err(io_error(path))
            }
        }
    }
}

/// A reader that closed the pipe early (`| head`) wanted no more: not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|source| OutputError::Io {
            path: "standard output".into(),
            source,
        }),
    }
}

/// Checks every output of a command before it starts; the first problem is returned.
pub(crate) fn check_all<'a>(
    outputs: impl IntoIterator<Item = &'a Destination>,
) -> Result<(), OutputError> {
    for output in outputs {
        output.check()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn concurrent_appenders_each_keep_their_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let out = Destination::Path(path.clone());
                std::thread::spawn(move || out.append(format!("section {i}\n").as_bytes()))
            })
            .collect();
        for w in writers {
            w.join().unwrap().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for i in 0..20 {
            assert!(text.contains(&format!("section {i}\n")), "{i} lost: {text}");
        }
        assert_eq!(text.lines().count(), 20);
    }
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn regular_files_are_replaced_whole_and_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let out = Destination::from(path.as_path());
        out.check().unwrap();
        out.write(b"first").unwrap();
        // A new file gets 0666 minus the umask: never 0600 unless the umask says so. The
        // umask is read back from a file std creates the same way.
        let probe = dir.path().join("probe");
        File::create(&probe).unwrap();
        assert_eq!(mode(&path), mode(&probe));
        std::fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        out.write(b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(mode(&path), 0o640, "an existing file keeps its mode");
        out.append(b" third").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second third");
        assert_eq!(mode(&path), 0o640);
        // No temporary left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        // The lock file of the append stays (removing it would race with the next writer).
        let lock = std::ffi::OsString::from(".out.json.lock");
        assert!(names.contains(&lock), "{names:?}");
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn a_symlink_to_a_file_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        Destination::from(link.as_path()).write(b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn devices_are_written_through_never_replaced() {
        let null = Path::new("/dev/null");
        let before = std::fs::metadata(null).unwrap();
        let out = Destination::from(null);
        out.check().unwrap();
        out.write(b"discarded").unwrap();
        out.append(b"discarded").unwrap();
        let after = std::fs::metadata(null).unwrap();
        assert!(after.file_type().is_char_device());
        assert_eq!((before.ino(), before.rdev()), (after.ino(), after.rdev()));
        // /dev/full: the write fails with the device's own error, and /dev/full stays.
        if Path::new("/dev/full").exists() {
            let err = Destination::from(Path::new("/dev/full"))
                .write(b"x")
                .unwrap_err();
            assert!(err.to_string().contains("/dev/full"), "{err}");
            assert!(
                std::fs::metadata("/dev/full")
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
        }
    }

    #[test]
    fn a_fifo_is_written_through_to_its_reader() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read_to_string(reader_path).unwrap());
        let out = Destination::from(fifo.as_path());
        out.check().unwrap();
        out.write(b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        // Nobody reading: the write gives up at its deadline instead of hanging.
        let started = Instant::now();
        let err = write_through_within(&fifo, b"x", false, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, OutputError::NoReader { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn bad_places_fail_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Destination::from(dir.path().join("no/such/dir/out.json").as_path());
        let err = missing.check().unwrap_err();
        assert!(matches!(err, OutputError::MissingDirectory { .. }), "{err}");
        assert!(err.to_string().contains("mkdir -p"), "{err}");
        assert!(!dir.path().join("no").exists(), "nothing created");
        let err = Destination::from(dir.path()).check().unwrap_err();
        assert!(matches!(err, OutputError::IsDirectory { .. }), "{err}");
        assert!("-".parse::<Destination>().unwrap().is_stdout());
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "kept").unwrap();
        // A target in a directory that vanished cannot be replaced; the old file elsewhere is
        // untouched and no temporary is left.
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let out = Destination::from(gone.join("x.json").as_path());
        out.check().unwrap();
        std::fs::remove_dir(&gone).unwrap();
        assert!(out.write(b"lost").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
    }
}

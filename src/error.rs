//! The crate's one error type: lowercase messages that name the file, flag or
//! byte offset, for a one-line report and a non-zero exit.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Error {
    /// A command-line problem: unknown flag, missing or malformed value.
    Usage(String),
    /// An I/O failure on a named file.
    Io { path: PathBuf, source: std::io::Error },
    /// A file that is not valid UTF-8; `offset` is the first bad byte.
    Utf8 { path: PathBuf, offset: usize },
    /// Input data that cannot be used (empty corpus, unknown characters...).
    Data(String),
    /// A checkpoint or import file that is not readable as one.
    Format { path: PathBuf, message: String },
    /// Training went numerically wrong (NaN/inf loss).
    Numeric(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    /// A write to a reader that has gone away (`rnnlm … | head`): the
    /// command ends quietly, exit 0, as Unix tools do.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub fn format(path: &Path, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Utf8 { path, offset } => {
                write!(
                    f,
                    "{}: not valid UTF-8 (first bad byte at offset {offset})",
                    path.display()
                )
            }
            Error::Data(m) => write!(f, "{m}"),
            Error::Format { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Numeric(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

//! What can go wrong with a folder of zone files, and how each failure maps onto the
//! [`ProviderError`] classes callers retry on.

use std::io;
use std::path::PathBuf;

use zonesync_core::{DnsName, ErrorChain, ErrorKind, ProviderError};

/// A failure of the zone-file provider.
///
/// Every variant names the file or folder involved. It reaches callers as the source of a
/// [`ProviderError`], whose message is this error's text followed by its causes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneFileError {
    /// The configured folder does not exist, is not a folder or cannot be listed.
    #[error("{} is not a readable directory", path.display())]
    NotADirectory {
        /// The folder.
        path: PathBuf,
        /// Why it could not be listed, when the operating system said so.
        #[source]
        source: Option<io::Error>,
    },
    /// A zone file (or the folder) could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A zone file is not UTF-8 text.
    #[error("{}: line {line}: the file is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line holding the first byte that is not UTF-8.
        line: usize,
    },
    /// A zone file is not valid RFC 1035 master-file syntax, or uses something this provider
    /// cannot rewrite safely (`$INCLUDE`, a class other than `IN`, a type hickory cannot read).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line of the offending entry, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Two files hold the same zone.
    #[error("zone {zone} is defined twice: in {} and in {}", first.display(), second.display())]
    DuplicateZone {
        /// The zone apex.
        zone: DnsName,
        /// The file listed first.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
    /// A zone id that does not name a zone file of this provider's folder.
    #[error("zone id {id:?} is not a zone file in {}", dir.display())]
    UnknownZone {
        /// The zone id that was passed in.
        id: String,
        /// The provider's folder.
        dir: PathBuf,
    },
    /// The file now holds another zone than the one asked for (it was edited or replaced).
    #[error("{} holds zone {found}, not {expected}", path.display())]
    ZoneMismatch {
        /// The file.
        path: PathBuf,
        /// The zone the caller asked for.
        expected: DnsName,
        /// The zone the file holds now.
        found: DnsName,
    },
    /// The file changed on disk while changes were being applied to it; nothing was written.
    #[error("{} was changed by someone else while zonesync was applying changes", path.display())]
    ChangedWhileApplying {
        /// The file.
        path: PathBuf,
    },
    /// The rewritten zone would not read back as the intended records; nothing was written.
    #[error("{}: the rewritten zone does not read back as intended ({message}); file left unchanged", path.display())]
    ReadBack {
        /// The file.
        path: PathBuf,
        /// The first difference found.
        message: String,
    },
    /// Writing the new version of a zone file failed; the old version is still in place.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl ZoneFileError {
    /// The retry class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ZoneFileError::Read { source, .. } | ZoneFileError::Write { source, .. } => {
                io_kind(source)
            }
            ZoneFileError::ChangedWhileApplying { .. } => ErrorKind::Transient,
            ZoneFileError::ReadBack { .. } => ErrorKind::Permanent,
            ZoneFileError::NotADirectory { .. }
            | ZoneFileError::NotUtf8 { .. }
            | ZoneFileError::Syntax { .. }
            | ZoneFileError::DuplicateZone { .. }
            | ZoneFileError::UnknownZone { .. }
            | ZoneFileError::ZoneMismatch { .. } => ErrorKind::Config,
        }
    }
}

/// Missing files, missing permissions and read-only mounts are for the operator to fix; other
/// I/O errors (disk full, EIO, interrupted) may pass.
fn io_kind(error: &io::Error) -> ErrorKind {
    match error.kind() {
        io::ErrorKind::NotFound
        | io::ErrorKind::PermissionDenied
        | io::ErrorKind::ReadOnlyFilesystem
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::NotADirectory => ErrorKind::Config,
        _ => ErrorKind::Transient,
    }
}

impl From<ZoneFileError> for ProviderError {
    fn from(error: ZoneFileError) -> Self {
        let message = ErrorChain(&error).to_string();
        ProviderError::new(error.kind(), message).with_source(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_error_message_includes_the_cause_and_class() {
        let error = ZoneFileError::Write {
            path: PathBuf::from("/zones/example.com.zone"),
            source: io::Error::new(io::ErrorKind::ReadOnlyFilesystem, "read-only file system"),
        };
        let provider_error = ProviderError::from(error);
        assert_eq!(provider_error.kind(), ErrorKind::Config);
        assert_eq!(
            provider_error.message(),
            "cannot write /zones/example.com.zone: read-only file system"
        );
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let error = ZoneFileError::Syntax {
            path: PathBuf::from("z/example.com.zone"),
            line: Some(7),
            message: "unterminated quoted string".into(),
        };
        assert_eq!(
            error.to_string(),
            "z/example.com.zone: line 7: unterminated quoted string"
        );
        let without_line = ZoneFileError::Syntax {
            path: PathBuf::from("z/example.com.zone"),
            line: None,
            message: "more than one SOA record".into(),
        };
        assert_eq!(
            without_line.to_string(),
            "z/example.com.zone: more than one SOA record"
        );
    }
}

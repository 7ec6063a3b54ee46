//! [`ZoneFileProvider`]: the [`Provider`] over a folder of zone files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hickory_proto::rr::Name;
use zonesync_core::{
    ApplyReport, ChangeGroup, DEFAULT_TTL, DnsName, Endpoint, Provider, ProviderError, Zone,
};

use crate::apply::apply_groups;
use crate::contents::ZoneContents;
use crate::error::ZoneFileError;

/// Prefix of the temporary files written next to a zone file before they replace it. They
/// start with a dot, so [`Provider::zones`] skips them like any hidden file.
const TEMP_PREFIX: &str = ".zonesync-";

/// A DNS back end made of a folder of RFC 1035 zone files, one zone per file.
///
/// Each regular, non-hidden file of the folder (except `*.jnl` journals) is a zone; its id is
/// the file path. Reads parse the file; writes replace it atomically with the SOA serial
/// increased by one, only when the changes changed something. Writes are serialised within the
/// process; a file edited by someone else during an apply makes that apply fail without
/// writing. A zone file that is a symbolic link (as in a ConfigMap mount) stays one: the file
/// it points to is replaced.
///
/// File I/O is synchronous: zone files are small and local, and a blocked worker for the few
/// milliseconds of a read or rename is cheaper than moving the state to a blocking thread.
#[derive(Debug)]
pub struct ZoneFileProvider {
    dir: PathBuf,
    default_ttl: u32,
    write_lock: Mutex<()>,
}

impl ZoneFileProvider {
    /// A provider over the zone files in `dir`.
    ///
    /// Fails with a configuration error naming `dir` when it does not exist, is not a
    /// directory or cannot be listed. The files themselves are only read by
    /// [`Provider::zones`].
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, ProviderError> {
        let dir = dir.into();
        let not_a_directory = |source| ZoneFileError::NotADirectory {
            path: dir.clone(),
            source,
        };
        let metadata = fs::metadata(&dir).map_err(|e| not_a_directory(Some(e)))?;
        if !metadata.is_dir() {
            return Err(not_a_directory(None).into());
        }
        fs::read_dir(&dir).map_err(|e| not_a_directory(Some(e)))?;
        Ok(Self {
            dir,
            default_ttl: DEFAULT_TTL,
            write_lock: Mutex::new(()),
        })
    }

    /// Sets the TTL written for created records whose TTL is not configured
    /// ([`DEFAULT_TTL`] unless set).
    #[must_use]
    pub fn with_default_ttl(mut self, ttl: u32) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The folder of zone files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The zone files of the folder, sorted by file name.
    fn zone_files(&self) -> Result<Vec<PathBuf>, ZoneFileError> {
        let read_error = |source| ZoneFileError::Read {
            path: self.dir.clone(),
            source,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                tracing::warn!(dir = %self.dir.display(), file = ?file_name, "skipping file whose name is not UTF-8");
                continue;
            };
            if !is_zone_file_name(file_name) {
                continue;
            }
            // Follows symbolic links, so ConfigMap-style mounts are listed.
            match fs::metadata(entry.path()) {
                Ok(metadata) if metadata.is_file() => files.push(entry.path()),
                Ok(_) => {}
                Err(source) => {
                    return Err(ZoneFileError::Read {
                        path: entry.path(),
                        source,
                    });
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// The path of a zone this provider listed.
    fn zone_path(&self, zone: &Zone) -> Result<PathBuf, ZoneFileError> {
        let path = PathBuf::from(&zone.id);
        let listed = path.parent() == Some(self.dir.as_path())
            && path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(is_zone_file_name);
        if listed {
            Ok(path)
        } else {
            Err(ZoneFileError::UnknownZone {
                id: zone.id.clone(),
                dir: self.dir.clone(),
            })
        }
    }

    /// Reads the zone at `path` and checks it is still `zone`.
    fn read_zone(
        &self,
        zone: &Zone,
        path: &Path,
    ) -> Result<(Vec<u8>, ZoneContents), ZoneFileError> {
        let bytes = read_file(path)?;
        let contents = parse_file(path, &bytes)?;
        if contents.name != zone.name {
            return Err(ZoneFileError::ZoneMismatch {
                path: path.to_path_buf(),
                expected: zone.name.clone(),
                found: contents.name,
            });
        }
        Ok((bytes, contents))
    }

    fn apply_to_file(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ZoneFileError> {
        let path = self.zone_path(zone)?;
        let _guard = self.lock();
        let (original, mut contents) = self.read_zone(zone, &path)?;
        let unchanged = contents.render(self.default_ttl);
        let (report, applied) = apply_groups(&mut contents, groups, self.default_ttl);
        if applied == 0 || contents.render(self.default_ttl) == unchanged {
            return Ok(report);
        }
        let serial = contents.bump_serial();
        let text = contents.render(self.default_ttl);
        verify_read_back(&path, &text, &contents)?;
        if read_file(&path)? != original {
            return Err(ZoneFileError::ChangedWhileApplying { path });
        }
        write_atomically(&path, text.as_bytes())?;
        // How many records changed is logged once, by the caller that knows which are markers.
        tracing::info!(
            zone = %zone.name,
            file = %path.display(),
            serial,
            "zone file written"
        );
        Ok(report)
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic elsewhere cannot leave it inconsistent.
        self.write_lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Provider for ZoneFileProvider {
    fn name(&self) -> &'static str {
        "zonefile"
    }

    async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        let mut zones = Vec::new();
        let mut seen: BTreeMap<DnsName, PathBuf> = BTreeMap::new();
        for path in self.zone_files()? {
            let contents = parse_file(&path, &read_file(&path)?)?;
            if let Some(first) = seen.get(&contents.name) {
                return Err(ZoneFileError::DuplicateZone {
                    zone: contents.name,
                    first: first.clone(),
                    second: path,
                }
                .into());
            }
            seen.insert(contents.name.clone(), path.clone());
            zones.push(Zone::new(contents.name).with_id(path.to_string_lossy()));
        }
        Ok(zones)
    }

    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError> {
        let path = self.zone_path(zone)?;
        let (_, contents) = self.read_zone(zone, &path)?;
        Ok(contents.endpoints())
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ProviderError> {
        if groups.is_empty() {
            return Ok(ApplyReport::default());
        }
        Ok(self.apply_to_file(zone, groups)?)
    }

    fn default_ttl(&self) -> u32 {
        self.default_ttl
    }
}

/// Whether a file name in the folder is a zone file: not hidden (our temporary files are
/// hidden) and not a journal.
fn is_zone_file_name(file_name: &str) -> bool {
    !file_name.starts_with('.') && !file_name.ends_with(".jnl")
}

/// The origin a file starts with, from its name without a `.zone` or `.db` extension.
fn origin_from_file_name(path: &Path) -> Option<Name> {
    let file_name = path.file_name()?.to_str()?;
    let stem = [".zone", ".db"]
        .iter()
        .find_map(|extension| file_name.strip_suffix(extension))
        .unwrap_or(file_name);
    if stem.is_empty() {
        return None;
    }
    Name::from_str_relaxed(format!("{stem}.")).ok()
}

fn read_file(path: &Path) -> Result<Vec<u8>, ZoneFileError> {
    fs::read(path).map_err(|source| ZoneFileError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_file(path: &Path, bytes: &[u8]) -> Result<ZoneContents, ZoneFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ZoneFileError::NotUtf8 {
        path: path.to_path_buf(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    ZoneContents::parse(text, origin_from_file_name(path).as_ref()).map_err(|e| {
        ZoneFileError::Syntax {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message,
        }
    })
}

/// Checks that `text` reads back as exactly the endpoints of `contents`, so a formatting gap
/// can never write a file that means something else.
fn verify_read_back(path: &Path, text: &str, contents: &ZoneContents) -> Result<(), ZoneFileError> {
    let read_back = |message: String| ZoneFileError::ReadBack {
        path: path.to_path_buf(),
        message,
    };
    let reread = ZoneContents::parse(text, Some(&contents.apex))
        .map_err(|e| read_back(format!("line {:?}: {}", e.line, e.message)))?;
    if reread.name != contents.name {
        return Err(read_back(format!("zone name became {}", reread.name)));
    }
    let (expected, found) = (contents.endpoints(), reread.endpoints());
    if expected != found {
        let difference = expected
            .iter()
            .zip(found.iter())
            .find(|(e, f)| e != f)
            .map(|(e, f)| format!("{e} reads back as {f}"))
            .unwrap_or_else(|| format!("{} RRsets read back as {}", expected.len(), found.len()));
        return Err(read_back(difference));
    }
    Ok(())
}

/// Replaces the file at `path` (the target of a symbolic link, if it is one) with `bytes`:
/// a temporary file in the same folder, flushed to disk, given the old file's permissions and
/// renamed over it. The temporary file is removed on every failure.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ZoneFileError> {
    let write_error = |source| ZoneFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let target = fs::canonicalize(path).map_err(write_error)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let metadata = fs::metadata(&target).map_err(write_error)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_error)?;
    temporary.write_all(bytes).map_err(write_error)?;
    fs::set_permissions(temporary.path(), metadata.permissions()).map_err(write_error)?;
    keep_owner(temporary.path(), &metadata);
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary
        .persist(&target)
        .map_err(|e| write_error(e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Gives the new file the old one's owner when allowed (as root); otherwise it belongs to us.
#[cfg(unix)]
fn keep_owner(path: &Path, metadata: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt as _;
    if let Err(error) = std::os::unix::fs::chown(path, Some(metadata.uid()), Some(metadata.gid())) {
        tracing::debug!(file = %path.display(), %error, "cannot keep the zone file's owner");
    }
}

#[cfg(not(unix))]
fn keep_owner(_path: &Path, _metadata: &fs::Metadata) {}

/// Makes the rename durable. The new content is already in place, so a failure is only logged.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), %error, "cannot flush the zone folder");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_file_names() {
        assert!(is_zone_file_name("example.com.zone"));
        assert!(is_zone_file_name("example.com"));
        assert!(!is_zone_file_name(".hidden"));
        assert!(!is_zone_file_name(".zonesync-abc.tmp"));
        assert!(!is_zone_file_name("example.com.zone.jnl"));
    }

    #[test]
    fn origins_from_file_names() {
        let origin = |file: &str| origin_from_file_name(Path::new(file)).map(|n| n.to_string());
        assert_eq!(
            origin("z/example.com.zone").as_deref(),
            Some("example.com.")
        );
        assert_eq!(origin("z/example.org.db").as_deref(), Some("example.org."));
        assert_eq!(origin("z/example.net").as_deref(), Some("example.net."));
        assert_eq!(origin("z/.zone"), None);
    }
}

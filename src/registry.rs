//! Ownership registry: TXT markers in external-dns's format, byte for byte.
//!
//! A record is ours only when a marker carrying our owner id points at it. The marker for
//! `www.example.com A` is a TXT record `a-www.example.com` holding
//! `heritage=external-dns,external-dns/owner=<owner-id>,external-dns/resource=<kind>/<ns>/<name>`
//! (labels after `heritage` sorted by key). `--txt-prefix`, `--txt-suffix` and the
//! `%{record_type}` template move the marker name exactly as external-dns does. Legacy markers
//! are read too: the same-name marker of external-dns ≤ 0.11 and the `cname-` marker that
//! external-dns used for A ALIAS records.
//!
//! With an AES key (`--txt-encrypt-aes-key`) encrypted markers are read beside plain ones, and
//! with `--txt-encrypt-enabled` new markers are written encrypted (see [`crypto`]). A value shaped
//! like an encrypted marker that does not open with the key is an ordinary TXT record: the
//! record it would vouch for is not ours. [`Inventory::unreadable_markers`] counts them.

mod crypto;

pub use crypto::{LABEL_ENCRYPTION_NONCE, MarkerKey, MarkerKeyError};

use std::borrow::Cow;
use std::collections::HashMap;

use zonesync_core::{
    DnsName, Endpoint, LABEL_OWNER, Labels, MAX_LABEL_LEN, MAX_NAME_LEN, RecordType, Zone,
};

/// Hasher for the inventory's index of markers, rebuilt over every marker of a zone on each
/// read: fast, and keyed randomly per process.
type FastState = foldhash::fast::RandomState;

const HERITAGE: &str = "external-dns";
const RECORD_TYPE_TEMPLATE: &str = "%{record_type}";

/// Record types whose marker names carry a type token that can be read back: external-dns's
/// (in its order), then the other types a DNSEndpoint can ask for, so their records (`txt-`,
/// `caa-`, `ptr-` markers) are owned and can be updated and deleted.
static TYPED_MARKER_TYPES: std::sync::LazyLock<[RecordType; 10]> = std::sync::LazyLock::new(|| {
    [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Ns,
        RecordType::Mx,
        RecordType::Srv,
        RecordType::Other("NAPTR".into()),
        RecordType::Txt,
        RecordType::Caa,
        RecordType::Ptr,
    ]
});

/// Invalid registry settings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// `--txt-owner-id` was empty.
    #[error("--txt-owner-id must not be empty")]
    EmptyOwnerId,
    /// The owner id contains a character that would corrupt the marker value.
    #[error("--txt-owner-id {0:?} must not contain ',', '=', '\"' or whitespace")]
    InvalidOwnerId(String),
    /// Both affixes were given.
    #[error("--txt-prefix and --txt-suffix are mutually exclusive (got {prefix:?} and {suffix:?})")]
    BothAffixes {
        /// The prefix.
        prefix: String,
        /// The suffix.
        suffix: String,
    },
    /// An affix holds a character DNS names cannot.
    #[error(
        "{flag} {value:?} may only contain letters, digits, '-', '_', '.' and %{{record_type}}"
    )]
    InvalidAffix {
        /// `--txt-prefix`, `--txt-suffix` or `--txt-wildcard-replacement`.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// An affix would leave an empty label in marker names (`txt..`, a prefix starting with a
    /// dot, a suffix ending with one).
    #[error(
        "{flag} {value:?} would put an empty label into marker names ({example}); remove the stray '.'"
    )]
    EmptyLabelInAffix {
        /// `--txt-prefix`, `--txt-suffix` or `--txt-wildcard-replacement`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// A marker name it would produce.
        example: String,
    },
    /// `--txt-encrypt-enabled` without a key.
    #[error(
        "--txt-encrypt-enabled needs an AES-256 key: set --txt-encrypt-aes-key or --txt-encrypt-aes-key-file"
    )]
    EncryptWithoutKey,
}

/// Why a record cannot carry a marker in its zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerPlacementError {
    /// The marker name falls outside the record's zone (apex records without a prefix ending
    /// in a dot).
    #[error(
        "its ownership marker {marker} would fall outside zone {zone}; use a --txt-prefix ending in '.', e.g. --txt-prefix=zonesync-%{{record_type}}."
    )]
    OutsideZone {
        /// The marker name.
        marker: String,
        /// The zone.
        zone: String,
    },
    /// A label of the marker name is longer than 63 bytes.
    #[error("its ownership marker {marker} has a label over {MAX_LABEL_LEN} bytes")]
    LabelTooLong {
        /// The marker name.
        marker: String,
    },
    /// The marker name is longer than 253 bytes.
    #[error("its ownership marker {marker} is longer than 253 bytes")]
    NameTooLong {
        /// The marker name.
        marker: String,
    },
}

/// Settings for ownership markers.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// This instance's owner id (`--txt-owner-id`).
    pub owner_id: String,
    /// `--txt-prefix`.
    pub prefix: String,
    /// `--txt-suffix`.
    pub suffix: String,
    /// `--txt-wildcard-replacement`.
    pub wildcard_replacement: Option<String>,
    /// `--txt-encrypt-aes-key`: encrypted markers are read with it.
    pub aes_key: Option<MarkerKey>,
    /// `--txt-encrypt-enabled`: markers are written encrypted (needs `aes_key`).
    pub encrypt: bool,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            owner_id: "default".to_string(),
            prefix: String::new(),
            suffix: String::new(),
            wildcard_replacement: None,
            aes_key: None,
            encrypt: false,
        }
    }
}

/// Who a current record belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// A marker with our owner id points at it.
    Ours,
    /// A marker with another owner id points at it.
    OtherOwner(String),
    /// No marker points at it.
    Unowned,
}

impl Ownership {
    /// True for [`Ownership::Ours`].
    pub fn is_ours(&self) -> bool {
        matches!(self, Ownership::Ours)
    }
}

/// A record read from a provider, with what the markers say about it.
#[derive(Clone, Debug)]
pub struct CurrentRecord {
    /// The record; `labels` filled from its marker.
    pub endpoint: Endpoint,
    /// Whose it is.
    pub ownership: Ownership,
    /// The markers that vouch for it (typed, legacy `cname-`, legacy same-name), as positions
    /// in [`Inventory::markers`]; read them with [`Inventory::markers_of`].
    pub markers: Vouching,
}

/// Positions in [`Inventory::markers`] of the markers that vouch for one record: at most three
/// (typed, legacy `cname-` alias, legacy same-name), held inline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vouching([Option<u32>; 3]);

impl Vouching {
    /// The positions, in the order above.
    pub fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().flatten().map(|&p| p as usize)
    }

    /// True when no marker vouches for the record.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// An ownership marker found in a zone.
#[derive(Clone, Debug)]
pub struct FoundMarker {
    /// The TXT record itself, as read.
    pub record: Endpoint,
    /// The labels it holds.
    pub labels: Labels,
    /// The record it names: `(name, type)`, type `None` for a legacy same-name marker.
    pub points_at: (String, Option<RecordType>),
    /// True when the inventory holds a record this marker can stand for: the record it names,
    /// the A alias record of a legacy `cname-` marker, or any record but AAAA of a legacy
    /// same-name marker. A marker of ours without one is an orphan.
    pub record_present: bool,
}

impl FoundMarker {
    /// The owner id in the marker, if any.
    pub fn owner(&self) -> Option<&str> {
        self.labels.get(LABEL_OWNER).map(String::as_str)
    }
}

/// A zone's records split into markers and the records they vouch for.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Every record that is not an ownership marker.
    pub records: Vec<CurrentRecord>,
    /// Every ownership marker (any owner).
    pub markers: Vec<FoundMarker>,
    /// TXT records shaped like encrypted markers that do not open with the configured key (or
    /// that were read without one). They stay ordinary records: what they would vouch for is
    /// not ours.
    pub unreadable_markers: usize,
}

impl Inventory {
    /// The marker records that vouch for `record` (one of [`Inventory::records`]).
    pub fn markers_of(&self, record: &CurrentRecord) -> impl Iterator<Item = &Endpoint> {
        let Vouching(positions) = record.markers;
        positions
            .into_iter()
            .flatten()
            .map(move |position| &self.markers[position as usize].record)
    }
}

/// The ownership registry: names, values and parsing of markers.
#[derive(Clone, Debug)]
pub struct Registry {
    owner_id: String,
    prefix: String,
    suffix: String,
    wildcard_replacement: Option<String>,
    aes_key: Option<MarkerKey>,
    encrypt: bool,
}

impl Registry {
    /// Validates `config` into a registry.
    ///
    /// Fails on an empty or malformed owner id, both affixes at once, or an affix with
    /// characters a DNS name cannot hold.
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        if config.owner_id.is_empty() {
            return Err(RegistryError::EmptyOwnerId);
        }
        if config
            .owner_id
            .chars()
            .any(|c| c == ',' || c == '=' || c == '"' || c.is_whitespace())
        {
            return Err(RegistryError::InvalidOwnerId(config.owner_id));
        }
        if config.encrypt && config.aes_key.is_none() {
            return Err(RegistryError::EncryptWithoutKey);
        }
        if !config.prefix.is_empty() && !config.suffix.is_empty() {
            return Err(RegistryError::BothAffixes {
                prefix: config.prefix,
                suffix: config.suffix,
            });
        }
        for (flag, value) in [
            ("--txt-prefix", Some(&config.prefix)),
            ("--txt-suffix", Some(&config.suffix)),
            (
                "--txt-wildcard-replacement",
                config.wildcard_replacement.as_ref(),
            ),
        ] {
            let Some(value) = value else { continue };
            let stripped = value.replace(RECORD_TYPE_TEMPLATE, "");
            if !stripped
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(RegistryError::InvalidAffix {
                    flag,
                    value: value.clone(),
                });
            }
            // Where the affix sits decides which of its ends may carry a dot: a prefix goes
            // before the first label (`txt.` adds a label), a suffix after it (`.txt` adds one),
            // a wildcard replacement stands for a whole label.
            let stripped = value.replace(RECORD_TYPE_TEMPLATE, "a");
            let (example, leading_dot_ok, trailing_dot_ok) = match flag {
                "--txt-prefix" => (format!("{stripped}a-www.example.com"), false, true),
                "--txt-suffix" => (format!("a-www{stripped}.example.com"), true, false),
                _ => (format!("a-{stripped}.example.com"), false, false),
            };
            if stripped.contains("..")
                || (!leading_dot_ok && stripped.starts_with('.'))
                || (!trailing_dot_ok && stripped.ends_with('.'))
            {
                return Err(RegistryError::EmptyLabelInAffix {
                    flag,
                    value: value.clone(),
                    example,
                });
            }
        }
        Ok(Self {
            owner_id: config.owner_id,
            prefix: config.prefix.to_ascii_lowercase(),
            suffix: config.suffix.to_ascii_lowercase(),
            wildcard_replacement: config
                .wildcard_replacement
                .filter(|w| !w.is_empty())
                .map(|w| w.to_ascii_lowercase()),
            aes_key: config.aes_key,
            encrypt: config.encrypt,
        })
    }

    /// This instance's owner id.
    pub fn owner_id(&self) -> &str {
        &self.owner_id
    }

    fn type_in_affix(&self) -> bool {
        self.prefix.contains(RECORD_TYPE_TEMPLATE) || self.suffix.contains(RECORD_TYPE_TEMPLATE)
    }

    /// The marker name for a record `name` of type `record_type` (external-dns `ToTXTName`).
    pub fn marker_name(&self, name: &DnsName, record_type: &RecordType) -> String {
        let type_token = record_type.as_str().to_ascii_lowercase();
        let prefix = self.prefix.replace(RECORD_TYPE_TEMPLATE, &type_token);
        let suffix = self.suffix.replace(RECORD_TYPE_TEMPLATE, &type_token);
        let mut host = name.first_label().to_string();
        if let Some(replacement) = &self.wildcard_replacement
            && host == "*"
        {
            host = replacement.clone();
        }
        if !self.type_in_affix() {
            host = format!("{type_token}-{host}");
        }
        let domain = name.parent();
        if domain.is_empty() {
            format!("{prefix}{host}{suffix}")
        } else {
            format!("{prefix}{host}{suffix}.{domain}")
        }
    }

    /// Reads a marker name back into the record name and type it stands for (external-dns
    /// `ToEndpointName`); type `None` means a legacy same-name marker. `None` when the name does
    /// not carry our affix.
    pub fn record_for_marker(&self, marker: &str) -> Option<(String, Option<RecordType>)> {
        // Names read through `DnsName` are lower case already; copy only when they are not.
        let marker = if marker.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(marker.to_ascii_lowercase())
        } else {
            Cow::Borrowed(marker)
        };
        if self.suffix.is_empty() {
            return self.strip_affix(&marker);
        }
        let dots = self.suffix.matches('.').count();
        let parts: Vec<&str> = marker.splitn(2 + dots, '.').collect();
        if parts.len() <= dots {
            return None;
        }
        let head = parts[..=dots].join(".");
        let (name, record_type) = self.strip_affix(&head)?;
        match parts.get(dots + 1) {
            Some(rest) => Some((format!("{name}.{rest}"), record_type)),
            None => Some((name, record_type)),
        }
    }

    fn strip_affix(&self, name: &str) -> Option<(String, Option<RecordType>)> {
        let mut prefix = Cow::Borrowed(self.prefix.as_str());
        let mut suffix = Cow::Borrowed(self.suffix.as_str());
        if self.type_in_affix() {
            for record_type in TYPED_MARKER_TYPES.iter() {
                let token = record_type.as_str().to_ascii_lowercase();
                let typed_prefix = prefix.replace(RECORD_TYPE_TEMPLATE, &token);
                let typed_suffix = suffix.replace(RECORD_TYPE_TEMPLATE, &token);
                if suffix.is_empty() {
                    if let Some(rest) = name.strip_prefix(&typed_prefix) {
                        return Some((rest.to_string(), Some(record_type.clone())));
                    }
                } else if let Some(rest) = name.strip_suffix(&typed_suffix) {
                    return Some((rest.to_string(), Some(record_type.clone())));
                }
            }
            prefix = Cow::Owned(prefix.replace(RECORD_TYPE_TEMPLATE, ""));
            suffix = Cow::Owned(suffix.replace(RECORD_TYPE_TEMPLATE, ""));
        }
        let stripped = if suffix.is_empty() {
            name.strip_prefix(prefix.as_ref())?
        } else {
            name.strip_suffix(suffix.as_ref())?
        };
        Some(type_from_default_position(stripped))
    }

    /// Every name a marker for a record called `name` can have (one per readable record type),
    /// so a cache can find the markers of a name without scanning the zone.
    pub fn marker_names_for(&self, name: &DnsName) -> Vec<DnsName> {
        TYPED_MARKER_TYPES
            .iter()
            .map(|record_type| DnsName::from_provider(&self.marker_name(name, record_type)))
            .collect()
    }

    /// The plain marker value for `labels` (`heritage=external-dns,external-dns/<key>=<value>,…`);
    /// the nonce label of encrypted markers is left out, as external-dns does.
    pub fn marker_value(labels: &Labels) -> String {
        let mut value = format!("heritage={HERITAGE}");
        for (key, label) in labels {
            if key != LABEL_ENCRYPTION_NONCE {
                value.push_str(&format!(",{HERITAGE}/{key}={label}"));
            }
        }
        value
    }

    /// The marker value this registry writes for `labels`: encrypted with
    /// `--txt-encrypt-enabled` (reusing the nonce label when there is one), else plain.
    pub fn encode_marker(&self, labels: &Labels) -> String {
        let plain = Self::marker_value(labels);
        match &self.aes_key {
            Some(key) if self.encrypt => key.seal(
                &plain,
                labels.get(LABEL_ENCRYPTION_NONCE).map(String::as_str),
            ),
            _ => plain,
        }
    }

    /// Reads a marker value, plain or (with a key) encrypted; the labels of an encrypted one
    /// carry its nonce. `Err(())` for a value shaped like an encrypted marker that does not
    /// open; `Ok(None)` for an ordinary TXT value.
    #[allow(clippy::result_unit_err)]
    pub fn decode_marker(&self, value: &str) -> Result<Option<Labels>, ()> {
        if let Some(labels) = Self::parse_marker_value(value) {
            return Ok(Some(labels));
        }
        let Some(key) = &self.aes_key else {
            return if crypto::looks_encrypted(value) {
                Err(())
            } else {
                Ok(None)
            };
        };
        match key.open(value) {
            Ok((text, nonce)) => Ok(Self::parse_marker_value(&text).map(|mut labels| {
                labels.insert(LABEL_ENCRYPTION_NONCE.to_string(), nonce);
                labels
            })),
            Err(crypto::OpenError::NotEncrypted) => Ok(None),
            Err(crypto::OpenError::WrongKey) => Err(()),
        }
    }

    /// How many of `records` are shaped like encrypted markers that do not open (see
    /// [`Inventory::unreadable_markers`]), without building an inventory.
    pub fn unreadable_markers(&self, records: &[Endpoint]) -> usize {
        records
            .iter()
            .filter(|record| record.record_type == RecordType::Txt)
            .filter(|record| {
                record
                    .targets
                    .iter()
                    .next()
                    .is_some_and(|value| self.decode_marker(value).is_err())
            })
            .filter(|record| self.record_for_marker(record.name.as_str()).is_some())
            .count()
    }

    /// What to tell the user about `count` unreadable encrypted markers in a zone.
    pub fn unreadable_markers_message(&self, count: usize) -> String {
        let cause = if self.aes_key.is_some() {
            "do not open with the configured --txt-encrypt-aes-key (another key, or damaged)"
        } else {
            "cannot be read without --txt-encrypt-aes-key"
        };
        format!(
            "{count} TXT record(s) look like encrypted ownership markers but {cause}; \
             the records they name are treated as not zonesync's and are never changed or deleted"
        )
    }

    /// True when the marker record `existing` already says what `wanted` (built by
    /// [`Registry::marker_for`]) says: the same labels, nonce aside, and the same properties.
    /// Encrypted values differ byte-wise from one sealing to the next, so values are compared
    /// by what they hold.
    pub fn same_marker(&self, existing: &Endpoint, wanted: &Endpoint) -> bool {
        if existing.properties != wanted.properties {
            return false;
        }
        if existing.targets == wanted.targets {
            return true;
        }
        let labels = |record: &Endpoint| {
            let value = record.targets.iter().next()?;
            let mut labels = self.decode_marker(value).ok()??;
            labels.remove(LABEL_ENCRYPTION_NONCE);
            Some(labels)
        };
        match (labels(existing), labels(wanted)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// Parses a marker value; `None` when it is not an external-dns heritage string (an
    /// ordinary TXT record). Surrounding quotes are tolerated.
    pub fn parse_marker_value(value: &str) -> Option<Labels> {
        let value = value.trim_matches('"');
        let mut labels = Labels::new();
        let mut heritage_found = false;
        for token in value.split(',') {
            let mut pieces = token.split('=');
            let (Some(key), Some(label), None) = (pieces.next(), pieces.next(), pieces.next())
            else {
                continue;
            };
            if key == "heritage" {
                if label != HERITAGE {
                    return None;
                }
                heritage_found = true;
            } else if let Some(stripped) = key.strip_prefix(HERITAGE) {
                let stripped = stripped.strip_prefix('/').unwrap_or(stripped);
                labels.insert(stripped.to_string(), label.to_string());
            }
        }
        heritage_found.then_some(labels)
    }

    /// The marker TXT record for `record`, whose labels must hold `owner` and `resource`.
    ///
    /// It copies the record's TTL, set identifier and provider-specific properties, as
    /// external-dns does (Route53 routing policies need them on the marker too).
    pub fn marker_for(&self, record: &Endpoint) -> Endpoint {
        let name = DnsName::from_provider(&self.marker_name(&record.name, &record.record_type));
        let mut marker = Endpoint::new(name, RecordType::Txt, [self.encode_marker(&record.labels)]);
        marker.ttl = record.ttl;
        marker.set_identifier = record.set_identifier.clone();
        marker.properties = record.properties.clone();
        marker
    }

    /// Checks that the marker of a record `name`/`record_type` is a valid name inside `zone`.
    ///
    /// Fails when it would fall outside the zone (an apex record without a prefix ending in a
    /// dot) or break DNS length limits.
    pub fn check_marker_placement(
        &self,
        name: &DnsName,
        record_type: &RecordType,
        zone: &Zone,
    ) -> Result<(), MarkerPlacementError> {
        let marker = self.marker_name(name, record_type);
        if marker.split('.').any(|label| label.len() > MAX_LABEL_LEN) {
            return Err(MarkerPlacementError::LabelTooLong { marker });
        }
        if marker.len() > MAX_NAME_LEN {
            return Err(MarkerPlacementError::NameTooLong { marker });
        }
        if !zonesync_core::name::is_within(&marker, zone.name.as_str()) {
            return Err(MarkerPlacementError::OutsideZone {
                marker,
                zone: zone.name.to_string(),
            });
        }
        Ok(())
    }

    /// Splits a zone's records into markers and the records they vouch for.
    pub fn inventory(&self, records: impl IntoIterator<Item = Endpoint>) -> Inventory {
        let records = records.into_iter();
        // A zone zonesync (or external-dns) manages holds about one marker per record.
        let half = records.size_hint().0 / 2 + 1;
        let mut markers = Vec::with_capacity(half);
        let mut others = Vec::with_capacity(half);
        let mut unreadable_markers = 0;
        for record in records {
            let labels = if record.record_type == RecordType::Txt {
                match record.targets.iter().next().map(|v| self.decode_marker(v)) {
                    Some(Ok(labels)) => labels,
                    Some(Err(())) => {
                        if self.record_for_marker(record.name.as_str()).is_some() {
                            unreadable_markers += 1;
                        }
                        None
                    }
                    None => None,
                }
            } else {
                None
            };
            // Only a TXT record with a heritage value can be a marker: read its name only then.
            let points_at = labels
                .as_ref()
                .and_then(|_| self.record_for_marker(record.name.as_str()));
            match labels.zip(points_at) {
                Some((labels, points_at)) => markers.push(FoundMarker {
                    record,
                    labels,
                    points_at,
                    record_present: false,
                }),
                None => others.push(CurrentRecord {
                    endpoint: record,
                    ownership: Ownership::Unowned,
                    markers: Vouching::default(),
                }),
            }
        }
        markers.shrink_to_fit();
        others.shrink_to_fit();

        // (name, type, set identifier) -> the last marker read with that key; type None for
        // legacy same-name markers. Earlier markers with the same key chain through `same_key`.
        let mut index: HashMap<(&str, Option<&RecordType>, Option<&str>), usize, FastState> =
            HashMap::with_capacity_and_hasher(markers.len(), FastState::default());
        let mut same_key = Vec::with_capacity(markers.len());
        for (position, marker) in markers.iter().enumerate() {
            let (name, record_type) = &marker.points_at;
            same_key.push(index.insert(
                (
                    name.as_str(),
                    record_type.as_ref(),
                    marker.record.set_identifier.as_deref(),
                ),
                position,
            ));
        }

        // Zones written by external-dns 0.12 or later have no same-name markers to look for.
        let legacy_same_name = markers.iter().any(|marker| marker.points_at.1.is_none());
        let mut present = vec![false; markers.len()];
        for record in &mut others {
            let endpoint = &mut record.endpoint;
            let lookup_name = self.lookup_name(&endpoint.name);
            let set_identifier = endpoint.set_identifier.as_deref();
            // The marker with this key, after marking every marker with it present.
            let mut find = |record_type: Option<&RecordType>| {
                let found = index
                    .get(&(lookup_name.as_ref(), record_type, set_identifier))
                    .copied();
                let mut next = found;
                while let Some(position) = next {
                    present[position] = true;
                    next = same_key[position];
                }
                found
            };
            let typed = find(Some(&endpoint.record_type));
            let legacy_alias = (endpoint.record_type == RecordType::A && endpoint.is_alias())
                .then(|| find(Some(&RecordType::Cname)))
                .flatten();
            // A legacy same-name marker keeps its place beside a typed one, but proves
            // ownership only when nothing else does.
            let same_name = (legacy_same_name && endpoint.record_type != RecordType::Aaaa)
                .then(|| find(None))
                .flatten()
                .filter(|_| typed.is_none() && legacy_alias.is_none());
            let proofs = [typed, legacy_alias, same_name];
            if let Some(marker) = proofs.iter().flatten().next().map(|&i| &markers[i]) {
                endpoint.labels = marker.labels.clone();
                record.ownership = match marker.owner() {
                    Some(owner) if owner == self.owner_id => Ownership::Ours,
                    Some(owner) => Ownership::OtherOwner(owner.to_string()),
                    None => Ownership::Unowned,
                };
            }
            // Positions fit in u32: a zone of four billion markers is not read into memory.
            record.markers = Vouching(proofs.map(|p| p.map(|p| p as u32)));
        }
        let records = others;
        for (marker, present) in markers.iter_mut().zip(present) {
            marker.record_present = present;
        }
        Inventory {
            records,
            markers,
            unreadable_markers,
        }
    }

    /// The record name as markers spell it (leading `*` replaced when configured).
    fn lookup_name<'n>(&self, name: &'n DnsName) -> Cow<'n, str> {
        match &self.wildcard_replacement {
            Some(replacement) if name.is_wildcard() => {
                let parent = name.parent();
                if parent.is_empty() {
                    Cow::Owned(replacement.clone())
                } else {
                    Cow::Owned(format!("{replacement}.{parent}"))
                }
            }
            _ => Cow::Borrowed(name.as_str()),
        }
    }

    /// Our markers whose record no longer exists in the inventory (see
    /// [`FoundMarker::record_present`]), in inventory order.
    pub fn orphan_markers<'i>(&self, inventory: &'i Inventory) -> Vec<&'i FoundMarker> {
        inventory
            .markers
            .iter()
            .filter(|marker| !marker.record_present)
            .filter(|marker| marker.owner() == Some(self.owner_id.as_str()))
            .collect()
    }
}

/// external-dns `extractRecordTypeDefaultPosition`: `a-www.example.com` → (`www.example.com`, A).
fn type_from_default_position(name: &str) -> (String, Option<RecordType>) {
    let first_token = name.split('-').next().unwrap_or_default();
    // `name` is lower case, so this is `first_token == lower-case mnemonic` without a copy.
    for record_type in TYPED_MARKER_TYPES.iter() {
        if first_token.eq_ignore_ascii_case(record_type.as_str()) {
            let rest = &name[first_token.len()..];
            let rest = rest.strip_prefix('-').unwrap_or(rest);
            return (rest.to_string(), Some(record_type.clone()));
        }
    }
    (name.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(prefix: &str, suffix: &str) -> Registry {
        Registry::new(RegistryConfig {
            owner_id: "default".into(),
            prefix: prefix.into(),
            suffix: suffix.into(),
            ..RegistryConfig::default()
        })
        .unwrap()
    }

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    fn txt(n: &str, value: &str) -> Endpoint {
        Endpoint::new(DnsName::from_provider(n), RecordType::Txt, [value])
    }

    #[test]
    fn marker_names_match_external_dns() {
        let plain = registry("", "");
        let www = name("www.example.com");
        assert_eq!(plain.marker_name(&www, &RecordType::A), "a-www.example.com");
        assert_eq!(
            plain.marker_name(&www, &RecordType::Cname),
            "cname-www.example.com"
        );
        assert_eq!(
            plain.marker_name(&www, &RecordType::Aaaa),
            "aaaa-www.example.com"
        );
        assert_eq!(
            registry("foo-", "").marker_name(&www, &RecordType::A),
            "foo-a-www.example.com"
        );
        assert_eq!(
            registry("_o.", "").marker_name(&www, &RecordType::A),
            "_o.a-www.example.com"
        );
        let ex = name("www.ex.com");
        assert_eq!(
            registry("%{record_type}-abc-.", "").marker_name(&ex, &RecordType::Cname),
            "cname-abc-.www.ex.com"
        );
        assert_eq!(
            registry("", "-%{record_type}").marker_name(&ex, &RecordType::Cname),
            "www-cname.ex.com"
        );
        assert_eq!(
            registry("", "-own").marker_name(&ex, &RecordType::A),
            "a-www-own.ex.com"
        );
        assert_eq!(
            registry("extdns-%{record_type}.", "")
                .marker_name(&name("example.com"), &RecordType::A),
            "extdns-a.example.com"
        );
        assert_eq!(
            plain.marker_name(&name("example.com"), &RecordType::A),
            "a-example.com"
        );
    }

    /// Found by the `markers` fuzz target: affixes like these used to be accepted and made
    /// marker names with an empty label, which no DNS server stores.
    #[test]
    fn affixes_that_would_make_empty_labels_are_refused() {
        let refused = |prefix: &str, suffix: &str, wildcard: Option<&str>| {
            Registry::new(RegistryConfig {
                prefix: prefix.into(),
                suffix: suffix.into(),
                wildcard_replacement: wildcard.map(Into::into),
                ..RegistryConfig::default()
            })
            .unwrap_err()
        };
        let error = refused(".txt", "", None);
        assert_eq!(
            error.to_string(),
            "--txt-prefix \".txt\" would put an empty label into marker names \
             (.txta-www.example.com); remove the stray '.'"
        );
        assert!(matches!(
            refused("txt..", "", None),
            RegistryError::EmptyLabelInAffix {
                flag: "--txt-prefix",
                ..
            }
        ));
        assert!(matches!(
            refused("", "txt.", None),
            RegistryError::EmptyLabelInAffix {
                flag: "--txt-suffix",
                ..
            }
        ));
        assert!(matches!(
            refused("", "-a..b", None),
            RegistryError::EmptyLabelInAffix {
                flag: "--txt-suffix",
                ..
            }
        ));
        assert!(matches!(
            refused("", "", Some(".any")),
            RegistryError::EmptyLabelInAffix {
                flag: "--txt-wildcard-replacement",
                ..
            }
        ));
        assert!(matches!(
            refused("", "", Some("any.")),
            RegistryError::EmptyLabelInAffix { .. }
        ));
        // A dot where it starts a new label is fine, with or without the type template.
        for (prefix, suffix) in [
            ("txt.", ""),
            ("%{record_type}.", ""),
            ("", ".txt"),
            ("", "-%{record_type}"),
        ] {
            let registry = Registry::new(RegistryConfig {
                prefix: prefix.into(),
                suffix: suffix.into(),
                ..RegistryConfig::default()
            })
            .unwrap();
            let marker = registry.marker_name(&name("www.example.com"), &RecordType::A);
            assert!(!marker.split('.').any(str::is_empty), "{marker}");
        }
    }

    #[test]
    fn wildcard_replacement_applies_to_marker_names() {
        let registry = Registry::new(RegistryConfig {
            wildcard_replacement: Some("any".into()),
            ..RegistryConfig::default()
        })
        .unwrap();
        assert_eq!(
            registry.marker_name(&name("*.example.com"), &RecordType::A),
            "a-any.example.com"
        );
        let without = registry_default();
        assert_eq!(
            without.marker_name(&name("*.example.com"), &RecordType::A),
            "a-*.example.com"
        );
    }

    fn registry_default() -> Registry {
        Registry::new(RegistryConfig::default()).unwrap()
    }

    /// Markers of the types a DNSEndpoint can declare read back as typed, so those records are
    /// owned (and can be updated and deleted).
    #[test]
    fn markers_of_every_declarable_type_read_back() {
        let plain = registry("", "");
        for record_type in [
            RecordType::Txt,
            RecordType::Mx,
            RecordType::Srv,
            RecordType::Caa,
            RecordType::Ns,
            RecordType::Ptr,
            RecordType::Other("NAPTR".into()),
        ] {
            let marker = plain.marker_name(&name("x.example.com"), &record_type);
            assert_eq!(
                plain.record_for_marker(&marker),
                Some(("x.example.com".into(), Some(record_type.clone()))),
                "{marker}"
            );
            assert!(
                plain
                    .marker_names_for(&name("x.example.com"))
                    .iter()
                    .any(|n| n.as_str() == marker),
                "{marker}"
            );
        }
    }

    #[test]
    fn marker_names_read_back() {
        let plain = registry("", "");
        assert_eq!(
            plain.record_for_marker("a-www.example.com"),
            Some(("www.example.com".into(), Some(RecordType::A)))
        );
        assert_eq!(
            plain.record_for_marker("cname-foo-bar.example.com"),
            Some(("foo-bar.example.com".into(), Some(RecordType::Cname)))
        );
        assert_eq!(
            plain.record_for_marker("www.example.com"),
            Some(("www.example.com".into(), None))
        );
        assert_eq!(
            registry("_o.", "").record_for_marker("_o.a-www.example.com"),
            Some(("www.example.com".into(), Some(RecordType::A)))
        );
        assert_eq!(
            registry("_o.", "").record_for_marker("a-www.example.com"),
            None
        );
        assert_eq!(
            registry("%{record_type}-abc-.", "").record_for_marker("cname-abc-.www.ex.com"),
            Some(("www.ex.com".into(), Some(RecordType::Cname)))
        );
        assert_eq!(
            registry("", "-%{record_type}").record_for_marker("www-cname.ex.com"),
            Some(("www.ex.com".into(), Some(RecordType::Cname)))
        );
        assert_eq!(
            registry("", "-own").record_for_marker("a-www-own.ex.com"),
            Some(("www.ex.com".into(), Some(RecordType::A)))
        );
        assert_eq!(
            registry("extdns-%{record_type}.", "").record_for_marker("extdns-a.example.com"),
            Some(("example.com".into(), Some(RecordType::A)))
        );
    }

    #[test]
    fn marker_values_are_byte_compatible() {
        let labels = Labels::from_iter([
            ("resource".to_string(), "ingress/default/my-ing".to_string()),
            ("owner".to_string(), "default".to_string()),
        ]);
        assert_eq!(
            Registry::marker_value(&labels),
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/my-ing"
        );
        let quoted = "\"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/my-ing\"";
        assert_eq!(Registry::parse_marker_value(quoted), Some(labels));
        assert_eq!(Registry::parse_marker_value("v=spf1 -all"), None);
        assert_eq!(Registry::parse_marker_value("heritage=other,owner=x"), None);
    }

    #[test]
    fn inventory_reads_external_dns_zone() {
        let registry = registry_default();
        let records = vec![
            Endpoint::new(name("www.example.com"), RecordType::A, ["192.0.2.1"]),
            txt(
                "a-www.example.com",
                "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web",
            ),
            Endpoint::new(
                name("old.example.com"),
                RecordType::Cname,
                ["lb.example.net"],
            ),
            txt(
                "old.example.com",
                "\"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/old\"",
            ),
            Endpoint::new(name("theirs.example.com"), RecordType::A, ["192.0.2.9"]),
            txt(
                "a-theirs.example.com",
                "heritage=external-dns,external-dns/owner=other-cluster,external-dns/resource=ingress/x/y",
            ),
            Endpoint::new(name("manual.example.com"), RecordType::A, ["192.0.2.7"]),
            txt("example.com", "v=spf1 -all"),
        ];
        let inventory = registry.inventory(records);
        assert_eq!(inventory.markers.len(), 3);
        let by_name = |n: &str| {
            inventory
                .records
                .iter()
                .find(|r| r.endpoint.name.as_str() == n)
                .unwrap()
        };
        assert_eq!(by_name("www.example.com").ownership, Ownership::Ours);
        assert_eq!(
            by_name("www.example.com").endpoint.resource(),
            Some("ingress/default/web")
        );
        assert_eq!(by_name("old.example.com").ownership, Ownership::Ours);
        assert_eq!(
            by_name("theirs.example.com").ownership,
            Ownership::OtherOwner("other-cluster".into())
        );
        assert_eq!(by_name("manual.example.com").ownership, Ownership::Unowned);
        // The SPF record is an ordinary TXT record.
        assert_eq!(by_name("example.com").ownership, Ownership::Unowned);
    }

    /// external-dns's fixture (`TestTXTRegistryApplyChangesEncrypt`): owner `owner`, sealed
    /// by external-dns with this key.
    const SEALED_BY_EXTERNAL_DNS: &str = "h8UQ6jelUFUsEIn7SbFktc2MYXPx/q8lySqI4VwfVtVaIbb2nkHWV/88KKbuLtu7fJNzMir8ELVeVnRSY01KdiIuj7ledqZe5ailEjQaU5Z6uEKd5pgs6sH8";

    fn encrypting(owner: &str, key: &str) -> Registry {
        Registry::new(RegistryConfig {
            owner_id: owner.into(),
            aes_key: Some(MarkerKey::parse("--txt-encrypt-aes-key", key).unwrap()),
            encrypt: true,
            ..RegistryConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn encrypted_and_plain_markers_are_read_side_by_side() {
        let quoted = format!("\"{SEALED_BY_EXTERNAL_DNS}\"");
        let records = vec![
            Endpoint::new(
                name("foobar.example.org"),
                RecordType::Cname,
                ["lb.example.com"],
            ),
            txt("cname-foobar.example.org", &quoted),
            Endpoint::new(name("plain.example.org"), RecordType::A, ["192.0.2.1"]),
            txt(
                "a-plain.example.org",
                "heritage=external-dns,external-dns/owner=owner",
            ),
            txt("example.org", "v=spf1 -all"),
        ];
        let registry = encrypting("owner", "12345678901234567890123456789012");
        let inventory = registry.inventory(records.clone());
        assert_eq!(inventory.unreadable_markers, 0);
        assert!(
            inventory
                .records
                .iter()
                .filter(|r| r.endpoint.record_type != RecordType::Txt)
                .all(|r| r.ownership.is_ours())
        );
        let foobar = &inventory.records[0];
        assert_eq!(
            foobar
                .endpoint
                .labels
                .get(LABEL_ENCRYPTION_NONCE)
                .map(String::as_str),
            Some("h8UQ6jelUFUsEIn7")
        );
        // Rewritten for an update: the nonce is kept, and the existing marker counts as the
        // same marker (same labels) although its bytes differ.
        let rewritten = registry.marker_for(&foobar.endpoint);
        let value = rewritten.targets.iter().next().unwrap();
        assert!(value.starts_with("h8UQ6jelUFUsEIn7"), "{value}");
        assert_ne!(value.as_str(), SEALED_BY_EXTERNAL_DNS);
        let vouching = inventory.markers_of(foobar).next().unwrap();
        assert!(registry.same_marker(vouching, &rewritten));
        // A plain marker never carries the nonce label.
        assert_eq!(
            Registry::marker_value(&foobar.endpoint.labels),
            "heritage=external-dns,external-dns/owner=owner"
        );

        // Another key: the encrypted marker is an ordinary TXT record, its record foreign,
        // and it is counted; the plain marker still reads.
        let wrong = encrypting("owner", &"k".repeat(32));
        let inventory = wrong.inventory(records.clone());
        assert_eq!(inventory.unreadable_markers, 1);
        assert_eq!(wrong.unreadable_markers(&records), 1);
        assert_eq!(inventory.records[0].ownership, Ownership::Unowned);
        assert_eq!(inventory.markers.len(), 1);
        assert!(wrong.orphan_markers(&inventory).is_empty());
        assert!(
            wrong
                .unreadable_markers_message(1)
                .contains("do not open with the configured --txt-encrypt-aes-key")
        );
    }

    #[test]
    fn encryption_needs_a_key_and_the_key_never_shows() {
        let refused = Registry::new(RegistryConfig {
            encrypt: true,
            ..RegistryConfig::default()
        });
        assert_eq!(refused.unwrap_err(), RegistryError::EncryptWithoutKey);
        let registry = encrypting("owner", "12345678901234567890123456789012");
        let debug = format!("{registry:?}");
        assert!(!debug.contains("1234567890"), "{debug}");
    }

    #[test]
    fn legacy_same_name_marker_does_not_own_aaaa() {
        let registry = registry_default();
        let inventory = registry.inventory(vec![
            Endpoint::new(name("v6.example.com"), RecordType::Aaaa, ["2001:db8::1"]),
            txt(
                "v6.example.com",
                "heritage=external-dns,external-dns/owner=default",
            ),
        ]);
        assert_eq!(inventory.records[0].ownership, Ownership::Unowned);
    }

    #[test]
    fn alias_records_accept_legacy_cname_marker() {
        let registry = registry_default();
        let alias = Endpoint::new(
            name("lb.example.com"),
            RecordType::A,
            ["abc.elb.amazonaws.com"],
        )
        .with_property("alias", "true");
        let inventory = registry.inventory(vec![
            alias,
            txt(
                "cname-lb.example.com",
                "heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/lb",
            ),
        ]);
        assert_eq!(inventory.records[0].ownership, Ownership::Ours);
        assert!(registry.orphan_markers(&inventory).is_empty());
    }

    #[test]
    fn finds_orphan_markers_of_our_owner_only() {
        let registry = registry_default();
        let inventory = registry.inventory(vec![
            txt(
                "a-gone.example.com",
                "heritage=external-dns,external-dns/owner=default",
            ),
            txt(
                "a-other.example.com",
                "heritage=external-dns,external-dns/owner=someone",
            ),
        ]);
        let orphans = registry.orphan_markers(&inventory);
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].record.name.as_str(), "a-gone.example.com");
    }

    /// The orphan rule spelled out directly: a marker of ours is an orphan unless some record
    /// has its (name, type, set identifier), counting an A alias as its legacy `cname-` name and
    /// any record but AAAA as its legacy same-name marker.
    fn orphans_by_rule<'i>(registry: &Registry, inventory: &'i Inventory) -> Vec<&'i FoundMarker> {
        let mut present = std::collections::BTreeSet::new();
        for record in &inventory.records {
            let endpoint = &record.endpoint;
            let name = registry.lookup_name(&endpoint.name).into_owned();
            let set_identifier = endpoint.set_identifier.clone();
            present.insert((
                name.clone(),
                Some(endpoint.record_type.clone()),
                set_identifier.clone(),
            ));
            if endpoint.record_type == RecordType::A && endpoint.is_alias() {
                present.insert((
                    name.clone(),
                    Some(RecordType::Cname),
                    set_identifier.clone(),
                ));
            }
            if endpoint.record_type != RecordType::Aaaa {
                present.insert((name, None, set_identifier));
            }
        }
        inventory
            .markers
            .iter()
            .filter(|marker| marker.owner() == Some(registry.owner_id()))
            .filter(|marker| {
                let (name, record_type) = marker.points_at.clone();
                !present.contains(&(name, record_type, marker.record.set_identifier.clone()))
            })
            .collect()
    }

    #[test]
    fn inventory_marks_orphans_as_the_rule_says() {
        let ours = "heritage=external-dns,external-dns/owner=default";
        let theirs = "heritage=external-dns,external-dns/owner=someone";
        let wildcard = Registry::new(RegistryConfig {
            wildcard_replacement: Some("any".into()),
            ..RegistryConfig::default()
        })
        .unwrap();
        let cases: Vec<(Registry, Vec<Endpoint>)> = vec![
            // A typed marker and a legacy same-name marker beside it: both stand.
            (
                registry_default(),
                vec![
                    Endpoint::new(name("www.example.com"), RecordType::A, ["192.0.2.1"]),
                    txt("a-www.example.com", ours),
                    txt("www.example.com", ours),
                ],
            ),
            // A same-name marker does not stand for an AAAA record; a typed one for another
            // type does not either.
            (
                registry_default(),
                vec![
                    Endpoint::new(name("v6.example.com"), RecordType::Aaaa, ["2001:db8::1"]),
                    txt("v6.example.com", ours),
                    txt("a-v6.example.com", ours),
                    txt("aaaa-v6.example.com", ours),
                ],
            ),
            // Legacy `cname-` marker of an A alias; the same marker without the alias is gone.
            (
                registry_default(),
                vec![
                    Endpoint::new(name("lb.example.com"), RecordType::A, ["lb.example.net"])
                        .with_property("alias", "true"),
                    txt("cname-lb.example.com", ours),
                    Endpoint::new(name("plain.example.com"), RecordType::A, ["192.0.2.2"]),
                    txt("cname-plain.example.com", ours),
                ],
            ),
            // Set identifiers must match; other owners' markers are never orphans of ours.
            (
                registry_default(),
                vec![
                    Endpoint::new(name("geo.example.com"), RecordType::A, ["192.0.2.3"])
                        .with_set_identifier("eu"),
                    txt("a-geo.example.com", ours).with_set_identifier("eu"),
                    txt("a-geo.example.com", ours).with_set_identifier("us"),
                    txt("a-gone.example.com", theirs),
                    txt("a-gone2.example.com", ours),
                ],
            ),
            // Two markers naming the same record both stand while it exists.
            (
                registry("p-", ""),
                vec![
                    Endpoint::new(name("dup.example.com"), RecordType::A, ["192.0.2.4"]),
                    txt("p-a-dup.example.com", ours),
                    txt("P-A-DUP.example.com", ours),
                    txt("p-a-lost.example.com", ours),
                    txt("p-a-lost.example.com", ours),
                ],
            ),
            // Wildcard records are looked up by their replacement.
            (
                wildcard,
                vec![
                    Endpoint::new(name("*.example.com"), RecordType::A, ["192.0.2.5"]),
                    txt("a-any.example.com", ours),
                    txt("a-any.other.example.com", ours),
                ],
            ),
        ];
        let mut orphans = 0;
        for (registry, records) in cases {
            let inventory = registry.inventory(records.clone());
            let found: Vec<&str> = registry
                .orphan_markers(&inventory)
                .iter()
                .map(|m| m.record.name.as_str())
                .collect();
            let expected: Vec<&str> = orphans_by_rule(&registry, &inventory)
                .iter()
                .map(|m| m.record.name.as_str())
                .collect();
            assert_eq!(found, expected, "{records:?}");
            orphans += found.len();
        }
        assert_eq!(orphans, 8);
    }

    #[test]
    fn marker_placement_is_checked() {
        let registry = registry_default();
        let zone = Zone::new(name("example.com"));
        assert!(matches!(
            registry.check_marker_placement(&name("example.com"), &RecordType::A, &zone),
            Err(MarkerPlacementError::OutsideZone { .. })
        ));
        let long = format!("{}.example.com", "a".repeat(62));
        assert!(matches!(
            registry.check_marker_placement(&name(&long), &RecordType::Cname, &zone),
            Err(MarkerPlacementError::LabelTooLong { .. })
        ));
        assert!(
            registry
                .check_marker_placement(&name("www.example.com"), &RecordType::A, &zone)
                .is_ok()
        );
    }

    #[test]
    fn rejects_bad_settings() {
        let both = Registry::new(RegistryConfig {
            prefix: "p-".into(),
            suffix: "-s".into(),
            ..RegistryConfig::default()
        });
        assert!(matches!(both, Err(RegistryError::BothAffixes { .. })));
        let empty = Registry::new(RegistryConfig {
            owner_id: String::new(),
            ..RegistryConfig::default()
        });
        assert_eq!(empty.unwrap_err(), RegistryError::EmptyOwnerId);
        let bad = Registry::new(RegistryConfig {
            owner_id: "a,b".into(),
            ..RegistryConfig::default()
        });
        assert!(matches!(bad, Err(RegistryError::InvalidOwnerId(_))));
    }
}

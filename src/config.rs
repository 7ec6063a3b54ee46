//! The validated configuration: built once from the raw flags, so an invalid combination is
//! one clear error before anything runs, and every later layer receives checked values.

use std::collections::BTreeSet;
use std::path::PathBuf;

use zonesync_core::{DnsName, InMemoryProvider, Provider, RecordType, Zone};

use crate::cli::{CommonArgs, ProviderName, SourceName};
use crate::filter::{DomainFilter, DomainFilterError, LabelSelector, SelectorError};
use crate::plan::{PlanOptions, Policy};
use crate::registry::{Registry, RegistryConfig, RegistryError};
use crate::source::{AnnotationPrefixes, ResourceKind, SourceConfig};

/// A flag value or combination zonesync cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag has a bad value, or flags do not fit together.
    #[error("{0}")]
    Invalid(String),
    /// Ownership settings.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Domain filters.
    #[error(transparent)]
    DomainFilter(#[from] DomainFilterError),
    /// Label or annotation selectors.
    #[error("{flag}: {source}")]
    Selector {
        /// `--label-filter` or `--annotation-filter`.
        flag: &'static str,
        /// The parse error.
        #[source]
        source: SelectorError,
    },
}

/// Where desired state is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceMode {
    /// Manifest files.
    Manifests(Vec<PathBuf>),
    /// The Kubernetes API.
    Cluster,
}

/// Which back end to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderConfig {
    /// Zone files in a folder.
    ZoneFile {
        /// The folder.
        dir: PathBuf,
    },
    /// In-memory zones.
    InMemory {
        /// Zones to create.
        zones: Vec<DnsName>,
    },
}

impl ProviderConfig {
    /// Builds the provider. Fails when its resources cannot be opened (missing folder).
    pub fn build(&self) -> Result<Box<dyn Provider>, zonesync_core::ProviderError> {
        Ok(match self {
            ProviderConfig::ZoneFile { dir } => {
                { let _ = dir; todo!() }
            }
            ProviderConfig::InMemory { zones } => Box::new(
                zones
                    .iter()
                    .fold(InMemoryProvider::new(), |provider, zone| {
                        provider.with_zone(Zone::new(zone.clone()))
                    }),
            ),
        })
    }
}

/// Everything `plan` and `sync` need, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where objects come from.
    pub source_mode: SourceMode,
    /// How objects are selected and read.
    pub source: SourceConfig,
    /// The back end.
    pub provider: ProviderConfig,
    /// Ownership markers.
    pub registry: Registry,
    /// Planner settings (the default TTL is set from the provider).
    pub plan: PlanOptions,
}

impl Config {
    /// Validates the shared flags.
    ///
    /// Fails with one message naming the flag and value when anything is wrong: unknown
    /// policy or record type, malformed selector or domain, missing `--manifest` or
    /// `--zonefile-dir`, both TXT affixes, an empty owner id.
    pub fn from_args(args: &CommonArgs) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid(message);

        let sources: BTreeSet<SourceName> = args.sources.iter().copied().collect();
        let has_manifest = args.sources.contains(&SourceName::Manifest);
        let source_mode = if has_manifest {
            if sources.len() > 1 {
                return Err(invalid(
                    "--source manifest reads Ingresses and Services from files and cannot be combined with --source ingress/service".into(),
                ));
            }
            if args.manifests.is_empty() {
                return Err(invalid(
                    "--source manifest needs at least one --manifest PATH".into(),
                ));
            }
            SourceMode::Manifests(args.manifests.clone())
        } else {
            if !args.manifests.is_empty() {
                return Err(invalid(
                    "--manifest is only used with --source manifest".into(),
                ));
            }
            SourceMode::Cluster
        };
        let kinds = if has_manifest {
            [ResourceKind::Ingress, ResourceKind::Service].into()
        } else {
            args.sources
                .iter()
                .filter_map(|s| match s {
                    SourceName::Ingress => Some(ResourceKind::Ingress),
                    SourceName::Service => Some(ResourceKind::Service),
                    SourceName::Manifest => None,
                })
                .collect()
        };

        let annotation_prefixes = match &args.annotation_prefix {
            Some(prefix) => AnnotationPrefixes::only(prefix).map_err(invalid)?,
            None => AnnotationPrefixes::default(),
        };
        let selector = |flag: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(LabelSelector::parse)
                .transpose()
                .map_err(|source| ConfigError::Selector { flag, source })
        };
        let annotation_selector = selector("--annotation-filter", &args.annotation_filter)?;
        if !args.ingress_class.is_empty()
            && annotation_selector
                .as_ref()
                .is_some_and(|s| s.as_str().contains(crate::source::ingress::LEGACY_CLASS_ANNOTATION))
        {
            return Err(invalid(
                "--ingress-class cannot be combined with an --annotation-filter on kubernetes.io/ingress.class; use one of them".into(),
            ));
        }
        let namespace = args
            .namespace
            .as_deref()
            .map(str::trim)
            .filter(|ns| !ns.is_empty())
            .map(str::to_string);
        if let Some(ns) = &namespace
            && !ns
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(format!(
                "--namespace {ns:?} is not a valid namespace name"
            )));
        }
        let source = SourceConfig {
            annotation_prefixes,
            namespace,
            label_selector: selector("--label-filter", &args.label_filter)?,
            annotation_selector,
            ingress_classes: args.ingress_class.clone(),
            kinds,
        };

        let provider = match args.provider {
            ProviderName::Zonefile => ProviderConfig::ZoneFile {
                dir: args.zonefile_dir.clone().ok_or_else(|| {
                    invalid("--provider zonefile needs --zonefile-dir DIR".into())
                })?,
            },
            ProviderName::Inmemory => {
                let zones = args
                    .inmemory_zone
                    .iter()
                    .map(|z| {
                        DnsName::parse(z).map_err(|e| {
                            invalid(format!("--inmemory-zone {z:?} is not a valid zone name: {e}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                ProviderConfig::InMemory { zones }
            }
        };

        let registry = Registry::new(RegistryConfig {
            owner_id: args.txt_owner_id.clone(),
            prefix: args.txt_prefix.clone(),
            suffix: args.txt_suffix.clone(),
            wildcard_replacement: args.txt_wildcard_replacement.clone(),
        })?;

        let policy: Policy = args
            .policy
            .parse()
            .map_err(|e: String| invalid(format!("--policy: {e}")))?;
        let mut managed_types = BTreeSet::new();
        for value in &args.managed_record_types {
            let record_type: RecordType = value
                .parse()
                .map_err(|e| invalid(format!("--managed-record-types: {e}")))?;
            if record_type == RecordType::Soa {
                return Err(invalid(
                    "--managed-record-types: zonesync never manages SOA records".into(),
                ));
            }
            managed_types.insert(record_type);
        }
        if managed_types.is_empty() {
            return Err(invalid(
                "--managed-record-types must name at least one type".into(),
            ));
        }
        let domain_filter = DomainFilter::new(&args.domain_filter, &args.exclude_domains)?;

        Ok(Self {
            source_mode,
            source,
            provider,
            registry,
            plan: PlanOptions {
                policy,
                managed_types,
                domain_filter,
                default_ttl: zonesync_core::DEFAULT_TTL,
            },
        })
    }
}

//! The validated configuration: built once from the raw flags, so an invalid combination is
//! one clear error before anything runs, and every later layer receives checked values.

use std::collections::BTreeSet;
use std::path::PathBuf;

use zonesync_core::{Provider, RecordType};

use crate::cli::{CommonArgs, ProviderName, RunArgs, SourceName};
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
    /// `--annotation-prefix`.
    #[error(transparent)]
    Annotation(#[from] crate::source::annotations::AnnotationError),
    /// The `--rfc2136-*` flags.
    #[error(transparent)]
    Rfc2136(#[from] zonesync_rfc2136::ConfigError),
    /// The `--aws-*` flags.
    #[error(transparent)]
    Route53(#[from] zonesync_route53::ConfigError),
    /// The `--webhook-provider-*` flags.
    #[error(transparent)]
    Webhook(#[from] zonesync_webhook::ConfigError),
}

/// Where desired state is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceMode {
    /// Manifest files.
    Manifests(Vec<PathBuf>),
    /// The Kubernetes API.
    Cluster {
        /// `--kubeconfig`, else the usual discovery.
        kubeconfig: Option<PathBuf>,
    },
}

/// Which back end to build.
#[derive(Clone, Debug)]
pub enum ProviderConfig {
    /// Zone files in a folder.
    ZoneFile {
        /// The folder.
        dir: PathBuf,
    },
    /// A dynamic DNS server.
    Rfc2136(zonesync_rfc2136::Rfc2136Config),
    /// AWS Route53.
    Route53(zonesync_route53::Route53Config),
    /// An external-dns webhook provider.
    Webhook(zonesync_webhook::WebhookConfig),
}

impl ProviderConfig {
    /// The flag that chose what [`build`](Self::build) opens, to name it in its errors.
    pub fn flag(&self) -> &'static str {
        match self {
            ProviderConfig::ZoneFile { .. } => "--zonefile-dir",
            _ => "--provider",
        }
    }

    /// Builds the provider. Fails when its resources cannot be opened (missing folder, bad
    /// credentials configuration).
    pub async fn build(&self) -> Result<Box<dyn Provider>, zonesync_core::ProviderError> {
        Ok(match self {
            ProviderConfig::ZoneFile { dir } => {
                Box::new(zonesync_zonefile::ZoneFileProvider::new(dir.clone())?)
            }
            ProviderConfig::Rfc2136(config) => {
                Box::new(zonesync_rfc2136::Rfc2136Provider::new(config.clone()).await?)
            }
            ProviderConfig::Route53(config) => {
                Box::new(zonesync_route53::Route53Provider::new(config.clone()).await?)
            }
            ProviderConfig::Webhook(config) => {
                Box::new(zonesync_webhook::WebhookProvider::new(config.clone()).await?)
            }
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
    /// Deletion and update thresholds.
    pub safety: crate::safety::SafetyLimits,
    /// How long an object without targets keeps its records.
    pub target_grace: std::time::Duration,
    /// Timeout of Kubernetes API requests (`None`: no limit).
    pub request_timeout: Option<std::time::Duration>,
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
                    "--source manifest reads objects from files and cannot be combined with the cluster sources (ingress, service, gateway-*, crd)".into(),
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
            SourceMode::Cluster {
                kubeconfig: args.kubeconfig.clone(),
            }
        };
        let kinds = if has_manifest {
            [
                ResourceKind::Ingress,
                ResourceKind::Service,
                ResourceKind::HttpRoute,
                ResourceKind::GrpcRoute,
                ResourceKind::TlsRoute,
                ResourceKind::TcpRoute,
                ResourceKind::UdpRoute,
                ResourceKind::DnsEndpoint,
            ]
            .into()
        } else {
            args.sources
                .iter()
                .filter_map(|s| match s {
                    SourceName::Ingress => Some(ResourceKind::Ingress),
                    SourceName::Service => Some(ResourceKind::Service),
                    SourceName::GatewayHttproute => Some(ResourceKind::HttpRoute),
                    SourceName::GatewayGrpcroute => Some(ResourceKind::GrpcRoute),
                    SourceName::GatewayTlsroute => Some(ResourceKind::TlsRoute),
                    SourceName::GatewayTcproute => Some(ResourceKind::TcpRoute),
                    SourceName::GatewayUdproute => Some(ResourceKind::UdpRoute),
                    SourceName::Crd => Some(ResourceKind::DnsEndpoint),
                    SourceName::Manifest => None,
                })
                .collect()
        };
        let crd = crate::source::CrdSource {
            api_version: args.crd_source_apiversion.trim().to_string(),
            kind: args.crd_source_kind.trim().to_string(),
        };
        let crd_group_version_ok =
            crd.api_version
                .split_once('/')
                .is_some_and(|(group, version)| {
                    !group.is_empty() && !version.is_empty() && !version.contains('/')
                });
        if !crd_group_version_ok {
            return Err(invalid(format!(
                "--crd-source-apiversion {:?} must be group/version (e.g. {})",
                crd.api_version,
                crate::source::dnsendpoint::DEFAULT_API_VERSION
            )));
        }
        if crd.kind.is_empty() || !crd.kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(format!(
                "--crd-source-kind {:?} is not a kind name (e.g. {})",
                crd.kind,
                crate::source::dnsendpoint::DEFAULT_KIND
            )));
        }

        let annotation_prefixes = match &args.annotation_prefix {
            Some(prefix) => AnnotationPrefixes::only(prefix)?,
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
            && annotation_selector.as_ref().is_some_and(|s| {
                s.as_str()
                    .contains(crate::source::ingress::LEGACY_CLASS_ANNOTATION)
            })
        {
            return Err(invalid(
                "--ingress-class cannot be combined with an --annotation-filter on kubernetes.io/ingress.class; use one of them".into(),
            ));
        }
        if !args.exclude_unschedulable {
            return Err(invalid(
                "--exclude-unschedulable=false is not supported: zonesync always leaves cordoned nodes out of NodePort Services' records (external-dns's default)".into(),
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
        let gateway_namespace = args
            .gateway_namespace
            .as_deref()
            .map(str::trim)
            .filter(|ns| !ns.is_empty())
            .map(str::to_string);
        let gateway = crate::source::GatewayFilter {
            name: args
                .gateway_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            namespace: gateway_namespace,
            label_selector: selector("--gateway-label-filter", &args.gateway_label_filter)?,
        };
        let mut source = SourceConfig {
            annotation_prefixes,
            namespace,
            label_selector: selector("--label-filter", &args.label_filter)?,
            annotation_selector,
            ingress_classes: args.ingress_class.clone(),
            kinds,
            targets: crate::filter::TargetPolicy::new(
                &args.target_net_filter,
                &args.exclude_target_net,
                &args.default_targets,
                args.force_default_targets,
            )
            .map_err(|e| invalid(e.to_string()))?,
            fqdn_template: args
                .fqdn_template
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(crate::source::fqdn::FqdnTemplate::parse)
                .transpose()
                .map_err(|e| invalid(e.to_string()))?,
            combine_fqdn_annotation: args.combine_fqdn_annotation,
            ignore_hostname_annotation: args.ignore_hostname_annotation,
            service_types: service_types(&args.service_type_filter)?,
            publish_internal_services: args.publish_internal_services,
            always_publish_not_ready_addresses: args.always_publish_not_ready_addresses,
            gateway,
            crd,
            managed_types: BTreeSet::new(),
        };
        if source.ignore_hostname_annotation && source.fqdn_template.is_none() {
            return Err(invalid(
                "--ignore-hostname-annotation needs --fqdn-template (objects would have no host names)".into(),
            ));
        }

        let provider = match args.provider {
            ProviderName::Zonefile => ProviderConfig::ZoneFile {
                dir: args.zonefile_dir.clone().ok_or_else(|| {
                    invalid("--provider zonefile needs --zonefile-dir DIR".into())
                })?,
            },
            ProviderName::Rfc2136 => ProviderConfig::Rfc2136(args.rfc2136.validate()?),
            ProviderName::Aws => ProviderConfig::Route53(args.aws.validate()?),
            ProviderName::Webhook => ProviderConfig::Webhook(args.webhook.validate()?),
        };

        let registry = Registry::new(RegistryConfig {
            owner_id: args.txt_owner_id.clone(),
            prefix: args.txt_prefix.clone(),
            suffix: args.txt_suffix.clone(),
            wildcard_replacement: args.txt_wildcard_replacement.clone(),
            aes_key: marker_key(args)?,
            encrypt: args.txt_encrypt_enabled,
        })?;

        let policy: Policy = args
            .policy
            .parse()
            .map_err(|e: crate::plan::UnknownPolicy| invalid(format!("--policy: {e}")))?;
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
        source.managed_types = managed_types.clone();

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
            safety: crate::safety::SafetyLimits {
                max_delete_percent: args.max_delete_percent,
                max_update_percent: args.max_update_percent,
                min_owned: args.safety_min_owned,
                force: args.force,
            },
            target_grace: args.target_grace_period,
            request_timeout: Some(args.request_timeout).filter(|t| !t.is_zero()),
        })
    }
}

/// `--service-type-filter` values, checked against the Service types Kubernetes has.
fn service_types(values: &[String]) -> Result<Vec<String>, ConfigError> {
    const TYPES: [&str; 4] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    values
        .iter()
        .map(|value| {
            TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(value.trim()))
                .map(|t| t.to_string())
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "--service-type-filter {value:?} is not a Service type (ClusterIP, NodePort, LoadBalancer or ExternalName)"
                    ))
                })
        })
        .collect()
}

/// The AES key of encrypted markers, from `--txt-encrypt-aes-key` or its file form.
///
/// Fails when both are given, the file cannot be read, or the key is not 32 bytes (plain or
/// base64). No message carries the key.
fn marker_key(args: &CommonArgs) -> Result<Option<crate::registry::MarkerKey>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid(message);
    let (flag, value) = match (&args.txt_encrypt_aes_key, &args.txt_encrypt_aes_key_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "--txt-encrypt-aes-key and --txt-encrypt-aes-key-file are mutually exclusive; give the key once".into(),
            ));
        }
        (Some(key), None) => ("--txt-encrypt-aes-key", key.0.clone()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(format!(
                    "--txt-encrypt-aes-key-file {}: cannot read it: {e}",
                    path.display()
                ))
            })?;
            ("--txt-encrypt-aes-key-file", text.trim().to_string())
        }
        (None, None) => return Ok(None),
    };
    crate::registry::MarkerKey::parse(flag, &value)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

/// Everything `run` needs, validated.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The shared configuration.
    pub common: Config,
    /// Drift pass interval.
    pub interval: std::time::Duration,
    /// Event gathering window.
    pub debounce: std::time::Duration,
    /// Plans only, never writes.
    pub dry_run: bool,
    /// One pass, then exit (`--once`).
    pub once: bool,
    /// Publish Kubernetes Events.
    pub events: bool,
    /// Use streaming lists.
    pub watch_list: bool,
    /// Metrics and health server address.
    pub metrics_address: std::net::SocketAddr,
    /// Readiness limit on the age of the last successful sync.
    pub readiness_max_sync_age: std::time::Duration,
    /// Time an apply in flight may take after SIGTERM.
    pub shutdown_grace: std::time::Duration,
    /// Leader election, when enabled.
    pub leader: Option<crate::controller::leader::LeaseConfig>,
}

impl RunConfig {
    /// Validates the `run` flags.
    ///
    /// Fails like [`Config::from_args`], and also on `--source manifest` (the controller
    /// watches a cluster), an unusable metrics address or a zero interval.
    pub fn from_args(args: &RunArgs) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid(message);
        let common = Config::from_args(&args.common)?;
        if matches!(common.source_mode, SourceMode::Manifests(_)) {
            return Err(invalid(
                "zonesync run watches a cluster: use --source ingress, service, gateway-* or crd (manifests are for plan and sync)".into(),
            ));
        }
        if args.interval.is_zero() {
            return Err(invalid("--interval must be greater than zero".into()));
        }
        let address = if args.metrics_address.starts_with(':') {
            format!("0.0.0.0{}", args.metrics_address)
        } else {
            args.metrics_address.clone()
        };
        let metrics_address = address.parse().map_err(|_| {
            invalid(format!(
                "--metrics-address {:?} is not host:port (e.g. :7979 or 127.0.0.1:7979)",
                args.metrics_address
            ))
        })?;
        let leader = if args.leader_election {
            if args.leader_election_lease_duration < std::time::Duration::from_secs(1) {
                return Err(invalid(
                    "--leader-election-lease-duration must be at least 1s".into(),
                ));
            }
            Some(crate::controller::leader::LeaseConfig {
                name: args.leader_election_lease_name.clone(),
                namespace: args
                    .leader_election_namespace
                    .clone()
                    .unwrap_or_else(own_namespace),
                identity: args
                    .leader_election_identity
                    .clone()
                    .unwrap_or_else(own_identity),
                duration: args.leader_election_lease_duration,
            })
        } else {
            None
        };
        Ok(Self {
            common,
            interval: args.interval,
            debounce: args.min_event_sync_interval,
            dry_run: args.dry_run,
            once: args.once,
            events: args.events,
            watch_list: args.kube_watch_list,
            metrics_address,
            readiness_max_sync_age: args.readiness_max_sync_age.unwrap_or(args.interval * 2),
            shutdown_grace: args.shutdown_grace,
            leader,
        })
    }
}

/// The pod's namespace: `POD_NAMESPACE`, else the service account's namespace file, else
/// `default`.
fn own_namespace() -> String {
    std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|ns| !ns.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|ns| ns.trim().to_string())
        })
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

/// This replica's name: `POD_NAME`, else host name and process id.
fn own_identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| {
                    std::fs::read_to_string("/proc/sys/kernel/hostname")
                        .ok()
                        .map(|h| h.trim().to_string())
                })
                .unwrap_or_else(|| "zonesync".to_string());
            format!("{host}-{}", std::process::id())
        })
}

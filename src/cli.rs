//! Command-line arguments as typed (the raw layer). [`crate::config`] turns them into a
//! validated configuration; nothing else reads these structs.
//!
//! Flag names follow external-dns wherever the two share a feature, and every flag can also be
//! set through an environment variable `ZONESYNC_<FLAG>` (list flags take comma-separated
//! values there).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::OutputFormat;

/// zonesync keeps DNS zones in step with the Ingresses and Services of a Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "zonesync", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a sync would change, and why, without writing anything.
    ///
    /// Exit status: 0 = no changes, 2 = changes, 1 = error.
    Plan(PlanArgs),
    /// Compute the plan, print it, and apply it once (for Jobs, CronJobs and CI).
    ///
    /// Exit status: 0 = DNS is in sync, 1 = something failed (named in the output).
    Sync(SyncArgs),
    /// Run the controller: watch Ingresses and Services and keep DNS in step continuously.
    ///
    /// Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a fatal error.
    Run(RunArgs),
}

/// `zonesync run`.
#[derive(Debug, Args)]
#[command(mut_arg("sources", |arg| arg.value_parser(SourceName::parser(SourceName::watches_cluster))))]
pub struct RunArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Drift pass: how often the provider's records are re-read in full and anything changed by
    /// hand is repaired. Watch events are handled at once regardless.
    #[arg(long, default_value = "10m", value_parser = parse_duration, env = "ZONESYNC_INTERVAL", help_heading = "Controller")]
    pub interval: std::time::Duration,
    /// How long to gather watch events into one apply after the first one arrives.
    #[arg(long, default_value = "50ms", value_parser = parse_duration, env = "ZONESYNC_MIN_EVENT_SYNC_INTERVAL", help_heading = "Controller")]
    pub min_event_sync_interval: std::time::Duration,
    /// One pass, then exit, with `sync`'s exit codes (for external-dns's `--once`; `zonesync sync` does the same).
    #[arg(long, env = "ZONESYNC_ONCE", help_heading = "Controller")]
    pub once: bool,
    /// Compute and log plans but never write to DNS.
    #[arg(long, env = "ZONESYNC_DRY_RUN", help_heading = "Controller")]
    pub dry_run: bool,
    /// Publish Kubernetes Events on the objects whose records change (`--events=false` to disable).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, env = "ZONESYNC_EVENTS", help_heading = "Controller")]
    pub events: bool,
    /// Use streaming lists (WatchList, `sendInitialEvents`) for the initial list of each watch; needs Kubernetes 1.32+.
    #[arg(long, env = "ZONESYNC_KUBE_WATCH_LIST", help_heading = "Controller")]
    pub kube_watch_list: bool,
    /// Address of the /metrics, /healthz and /readyz server (`:7979` means all interfaces).
    #[arg(
        long,
        default_value = ":7979",
        env = "ZONESYNC_METRICS_ADDRESS",
        help_heading = "Controller"
    )]
    pub metrics_address: String,
    /// /readyz fails when the leader's last successful sync is older than this (default: twice --interval).
    #[arg(long, value_parser = parse_duration, env = "ZONESYNC_READINESS_MAX_SYNC_AGE", help_heading = "Controller")]
    pub readiness_max_sync_age: Option<std::time::Duration>,
    /// On SIGTERM, how long an apply in flight may take to finish before it is abandoned.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "ZONESYNC_SHUTDOWN_GRACE", help_heading = "Controller")]
    pub shutdown_grace: std::time::Duration,
    /// Run several replicas safely: only the holder of a coordination.k8s.io Lease writes.
    #[arg(
        long,
        env = "ZONESYNC_LEADER_ELECTION",
        help_heading = "Leader election"
    )]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(
        long,
        default_value = "zonesync",
        env = "ZONESYNC_LEADER_ELECTION_LEASE_NAME",
        help_heading = "Leader election"
    )]
    pub leader_election_lease_name: String,
    /// Namespace of the Lease (default: the pod's namespace).
    #[arg(
        long,
        env = "ZONESYNC_LEADER_ELECTION_NAMESPACE",
        help_heading = "Leader election"
    )]
    pub leader_election_namespace: Option<String>,
    /// How long the Lease stays valid without renewal; a standby takes over after it.
    #[arg(long, default_value = "15s", value_parser = parse_duration, env = "ZONESYNC_LEADER_ELECTION_LEASE_DURATION", help_heading = "Leader election")]
    pub leader_election_lease_duration: std::time::Duration,
    /// This replica's identity in the Lease (default: the pod name, else host name and process id).
    #[arg(
        long,
        env = "ZONESYNC_LEADER_ELECTION_IDENTITY",
        help_heading = "Leader election"
    )]
    pub leader_election_identity: Option<String>,
}

/// Parses a duration the way Kubernetes and external-dns flags write them (`50ms`, `10m`, `1h30m`).
///
/// Fails on a malformed, negative or too long duration.
pub fn parse_duration(value: &str) -> Result<std::time::Duration, crate::duration::DurationError> {
    crate::duration::parse_length(value.trim())
}

/// `zonesync plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format of the plan.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, env = "ZONESYNC_OUTPUT")]
    pub output: OutputFormat,
}

/// `zonesync sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format of the plan printed before applying it.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, env = "ZONESYNC_OUTPUT")]
    pub output: OutputFormat,
}

/// Where desired state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum SourceName {
    /// Ingresses (networking.k8s.io/v1).
    Ingress,
    /// Services (LoadBalancer, ExternalName, NodePort and headless; ClusterIP with --publish-internal-services).
    Service,
    /// Ingresses and Services read from files given with --manifest.
    Manifest,
    /// Gateway API HTTPRoutes (gateway.networking.k8s.io/v1).
    GatewayHttproute,
    /// Gateway API GRPCRoutes (gateway.networking.k8s.io/v1).
    GatewayGrpcroute,
    /// Gateway API TLSRoutes (gateway.networking.k8s.io/v1).
    GatewayTlsroute,
    /// Gateway API TCPRoutes (gateway.networking.k8s.io/v1alpha2).
    GatewayTcproute,
    /// Gateway API UDPRoutes (gateway.networking.k8s.io/v1alpha2).
    GatewayUdproute,
    /// DNSEndpoint objects (externaldns.k8s.io/v1alpha1, or --crd-source-apiversion/--crd-source-kind).
    Crd,
}

impl SourceName {
    /// Whether `zonesync run` can watch this source (manifest files are read once, by `plan`
    /// and `sync`).
    pub fn watches_cluster(self) -> bool {
        !matches!(self, SourceName::Manifest)
    }

    /// A `--source` parser that accepts, and lists in `--help`, only the sources `accepts`
    /// allows: each command offers only what it can read.
    pub fn parser(
        accepts: fn(SourceName) -> bool,
    ) -> impl clap::builder::TypedValueParser<Value = SourceName> {
        let values = Self::value_variants()
            .iter()
            .filter(|source| accepts(**source))
            .filter_map(ValueEnum::to_possible_value);
        use clap::builder::TypedValueParser as _;
        clap::builder::PossibleValuesParser::new(values)
            .try_map(|name| <Self as ValueEnum>::from_str(&name, false))
    }
}

/// DNS back ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderName {
    /// A folder of RFC 1035 zone files (--zonefile-dir).
    Zonefile,
    /// Any dynamic DNS server (BIND, Knot, PowerDNS, Windows DNS) through RFC 2136 updates and AXFR.
    Rfc2136,
    /// AWS Route53 (`route53` is accepted too).
    #[value(alias = "route53")]
    Aws,
    /// Any DNS service with an external-dns webhook provider (--webhook-provider-url), usually a sidecar.
    Webhook,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Flags shared by every command.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Source of desired records; repeatable.
    #[arg(
        long = "source",
        value_enum,
        required = true,
        value_delimiter = ',',
        env = "ZONESYNC_SOURCE",
        help_heading = "Sources"
    )]
    pub sources: Vec<SourceName>,
    /// kubeconfig file for --source ingress/service (default: in-cluster, then KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "ZONESYNC_KUBECONFIG", help_heading = "Sources")]
    pub kubeconfig: Option<PathBuf>,
    /// Manifest file or folder for --source manifest (YAML/JSON; multi-document and List kinds); repeatable.
    #[arg(
        long = "manifest",
        value_delimiter = ',',
        env = "ZONESYNC_MANIFEST",
        help_heading = "Sources"
    )]
    pub manifests: Vec<PathBuf>,
    /// Timeout of Kubernetes API requests (connect and send; for plan and sync also the answer); 0s means none.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "ZONESYNC_REQUEST_TIMEOUT", help_heading = "Sources")]
    pub request_timeout: std::time::Duration,
    /// Only read objects in this namespace (default: all namespaces).
    #[arg(long, env = "ZONESYNC_NAMESPACE", help_heading = "Sources")]
    pub namespace: Option<String>,
    /// Only read objects whose labels match this selector (e.g. `app=web,tier!=db`).
    #[arg(long, env = "ZONESYNC_LABEL_FILTER", help_heading = "Sources")]
    pub label_filter: Option<String>,
    /// Only read objects whose annotations match this selector (label-selector syntax).
    #[arg(long, env = "ZONESYNC_ANNOTATION_FILTER", help_heading = "Sources")]
    pub annotation_filter: Option<String>,
    /// Only read Ingresses of these classes (spec.ingressClassName or the kubernetes.io/ingress.class annotation); repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_INGRESS_CLASS",
        help_heading = "Sources"
    )]
    pub ingress_class: Vec<String>,
    /// Only read Services of these types (ClusterIP, NodePort, LoadBalancer, ExternalName); repeatable. Default: all.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_SERVICE_TYPE_FILTER",
        help_heading = "Sources"
    )]
    pub service_type_filter: Vec<String>,
    /// Publish ClusterIP Services (their cluster IP).
    #[arg(
        long,
        env = "ZONESYNC_PUBLISH_INTERNAL_SERVICES",
        help_heading = "Sources"
    )]
    pub publish_internal_services: bool,
    /// Publish the not-ready endpoints of headless Services too (as each Service's spec.publishNotReadyAddresses does for it).
    #[arg(
        long,
        env = "ZONESYNC_ALWAYS_PUBLISH_NOT_READY_ADDRESSES",
        help_heading = "Sources"
    )]
    pub always_publish_not_ready_addresses: bool,
    /// Accepted for external-dns compatibility: zonesync always watches the EndpointSlices of headless and NodePort Services.
    #[arg(
        long,
        env = "ZONESYNC_LISTEN_ENDPOINT_EVENTS",
        help_heading = "Sources"
    )]
    pub listen_endpoint_events: bool,
    /// Leave cordoned nodes out of NodePort Services' records; zonesync always does, so only true is accepted.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, env = "ZONESYNC_EXCLUDE_UNSCHEDULABLE", help_heading = "Sources")]
    pub exclude_unschedulable: bool,
    /// Go text/template making host names for objects that name none (e.g. `{{.Name}}.{{.Namespace}}.example.com`); its output is split at commas.
    #[arg(long, env = "ZONESYNC_FQDN_TEMPLATE", help_heading = "Sources")]
    pub fqdn_template: Option<String>,
    /// Add the --fqdn-template names to the names objects give themselves, instead of only filling in for objects with none.
    #[arg(
        long,
        env = "ZONESYNC_COMBINE_FQDN_ANNOTATION",
        help_heading = "Sources"
    )]
    pub combine_fqdn_annotation: bool,
    /// Do not read the hostname annotation (needs --fqdn-template).
    #[arg(
        long,
        env = "ZONESYNC_IGNORE_HOSTNAME_ANNOTATION",
        help_heading = "Sources"
    )]
    pub ignore_hostname_annotation: bool,
    /// Only publish targets inside these networks (CIDR, IPv4 or IPv6; host-name targets are dropped then); repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_TARGET_NET_FILTER",
        help_heading = "Sources"
    )]
    pub target_net_filter: Vec<String>,
    /// Never publish targets inside these networks (CIDR, IPv4 or IPv6); repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_EXCLUDE_TARGET_NET",
        help_heading = "Sources"
    )]
    pub exclude_target_net: Vec<String>,
    /// Targets (addresses, or one host name) for objects that have none yet; repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_DEFAULT_TARGETS",
        help_heading = "Sources"
    )]
    pub default_targets: Vec<String>,
    /// Use --default-targets for every object, replacing its own targets (external-dns's legacy behaviour).
    #[arg(long, env = "ZONESYNC_FORCE_DEFAULT_TARGETS", help_heading = "Sources")]
    pub force_default_targets: bool,
    /// Only resolve routes through Gateways of this name.
    #[arg(long, env = "ZONESYNC_GATEWAY_NAME", help_heading = "Sources")]
    pub gateway_name: Option<String>,
    /// Only read Gateways in this namespace (default: all namespaces).
    #[arg(long, env = "ZONESYNC_GATEWAY_NAMESPACE", help_heading = "Sources")]
    pub gateway_namespace: Option<String>,
    /// Only read Gateways whose labels match this selector.
    #[arg(long, env = "ZONESYNC_GATEWAY_LABEL_FILTER", help_heading = "Sources")]
    pub gateway_label_filter: Option<String>,
    /// apiVersion of the DNSEndpoint type read by --source crd.
    #[arg(long = "crd-source-apiversion", default_value = crate::source::dnsendpoint::DEFAULT_API_VERSION, env = "ZONESYNC_CRD_SOURCE_APIVERSION", help_heading = "Sources")]
    pub crd_source_apiversion: String,
    /// Kind of the DNSEndpoint type read by --source crd.
    #[arg(long = "crd-source-kind", default_value = crate::source::dnsendpoint::DEFAULT_KIND, env = "ZONESYNC_CRD_SOURCE_KIND", help_heading = "Sources")]
    pub crd_source_kind: String,
    /// Read annotations under exactly this prefix (default: both external-dns.kubernetes.io/ and external-dns.alpha.kubernetes.io/).
    #[arg(long, env = "ZONESYNC_ANNOTATION_PREFIX", help_heading = "Sources")]
    pub annotation_prefix: Option<String>,

    /// DNS back end.
    #[arg(long, value_enum, env = "ZONESYNC_PROVIDER", help_heading = "Provider")]
    pub provider: ProviderName,
    /// Folder of zone files for --provider zonefile (one zone per file).
    #[arg(long, env = "ZONESYNC_ZONEFILE_DIR", help_heading = "Provider")]
    pub zonefile_dir: Option<PathBuf>,

    /// RFC2136 provider flags.
    #[command(flatten)]
    pub rfc2136: zonesync_rfc2136::Rfc2136Args,
    /// Route53 provider flags.
    #[command(flatten)]
    pub aws: zonesync_route53::AwsArgs,
    /// Webhook provider flags.
    #[command(flatten)]
    pub webhook: zonesync_webhook::WebhookArgs,

    /// Only manage names in these domains (label-boundary suffix; a leading dot means subdomains only); repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_DOMAIN_FILTER",
        help_heading = "Records"
    )]
    pub domain_filter: Vec<String>,
    /// Never manage names in these domains; repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_EXCLUDE_DOMAINS",
        help_heading = "Records"
    )]
    pub exclude_domains: Vec<String>,
    /// Which changes are allowed: sync (create, update, delete), upsert-only (no deletes), create-only.
    #[arg(
        long,
        default_value = "sync",
        env = "ZONESYNC_POLICY",
        help_heading = "Records"
    )]
    pub policy: String,
    /// Record types zonesync manages; repeatable.
    #[arg(long, value_delimiter = ',', default_values_t = ["A".to_string(), "AAAA".to_string(), "CNAME".to_string()], env = "ZONESYNC_MANAGED_RECORD_TYPES", help_heading = "Records")]
    pub managed_record_types: Vec<String>,

    /// Refuse (hold back) deletions beyond this share of the records zonesync owns in a zone.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=100), env = "ZONESYNC_MAX_DELETE_PERCENT", help_heading = "Safety")]
    pub max_delete_percent: u32,
    /// Refuse (hold back) updates beyond this share of the records zonesync owns in a zone.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=100), env = "ZONESYNC_MAX_UPDATE_PERCENT", help_heading = "Safety")]
    pub max_update_percent: u32,
    /// The thresholds apply only in zones where zonesync owns at least this many records.
    #[arg(
        long,
        default_value_t = 10,
        env = "ZONESYNC_SAFETY_MIN_OWNED",
        help_heading = "Safety"
    )]
    pub safety_min_owned: usize,
    /// Keep the records of an object whose load balancer (or target annotation) has no address for this long before deleting them; 0 deletes at once.
    #[arg(long, default_value = "5m", value_parser = parse_duration, env = "ZONESYNC_TARGET_GRACE_PERIOD", help_heading = "Safety")]
    pub target_grace_period: std::time::Duration,
    /// Apply changes the thresholds would hold back.
    #[arg(long, env = "ZONESYNC_FORCE", help_heading = "Safety")]
    pub force: bool,

    /// Ownership registry; only `txt` (external-dns's default and format) is supported.
    #[arg(long, default_value = "txt", value_parser = ["txt"], env = "ZONESYNC_REGISTRY", help_heading = "Ownership")]
    pub registry: String,
    /// Owner id written into ownership markers; records with another owner are never touched.
    #[arg(
        long,
        default_value = "default",
        env = "ZONESYNC_TXT_OWNER_ID",
        help_heading = "Ownership"
    )]
    pub txt_owner_id: String,
    /// Prefix of marker names (may contain %{record_type}; end it with '.' to keep apex markers inside the zone).
    #[arg(
        long,
        default_value = "",
        env = "ZONESYNC_TXT_PREFIX",
        help_heading = "Ownership"
    )]
    pub txt_prefix: String,
    /// Suffix of the first label of marker names (may contain %{record_type}); excludes --txt-prefix.
    #[arg(
        long,
        default_value = "",
        env = "ZONESYNC_TXT_SUFFIX",
        help_heading = "Ownership"
    )]
    pub txt_suffix: String,
    /// Replaces a leading '*' in marker names of wildcard records.
    #[arg(
        long,
        env = "ZONESYNC_TXT_WILDCARD_REPLACEMENT",
        help_heading = "Ownership"
    )]
    pub txt_wildcard_replacement: Option<String>,
    /// Write ownership markers encrypted with AES-256-GCM, in external-dns's format (needs an AES key).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, env = "ZONESYNC_TXT_ENCRYPT_ENABLED", help_heading = "Ownership")]
    pub txt_encrypt_enabled: bool,
    /// AES-256 key of encrypted markers: 32 bytes, or base64 of 32 bytes (prefer --txt-encrypt-aes-key-file). Given alone, encrypted markers are read and new ones written plain.
    #[arg(
        long,
        env = "ZONESYNC_TXT_ENCRYPT_AES_KEY",
        hide_env_values = true,
        help_heading = "Ownership"
    )]
    pub txt_encrypt_aes_key: Option<SecretString>,
    /// File holding the AES key of encrypted markers (surrounding whitespace is ignored).
    #[arg(
        long,
        env = "ZONESYNC_TXT_ENCRYPT_AES_KEY_FILE",
        help_heading = "Ownership"
    )]
    pub txt_encrypt_aes_key_file: Option<PathBuf>,

    /// Accepted for external-dns compatibility: zonesync always writes only new-format (typed) markers.
    #[arg(long, env = "ZONESYNC_TXT_NEW_FORMAT_ONLY", help_heading = "Ownership")]
    pub txt_new_format_only: bool,
    /// Accepted for external-dns compatibility and ignored: zonesync keeps every zone cached already.
    #[arg(long, value_parser = parse_duration, env = "ZONESYNC_TXT_CACHE_INTERVAL", help_heading = "Ownership")]
    pub txt_cache_interval: Option<std::time::Duration>,

    /// Validate the flags and environment, print the resulting configuration and exit (0 when valid).
    #[arg(long, env = "ZONESYNC_CHECK_CONFIG")]
    pub check_config: bool,
    /// Log level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(
        long,
        default_value = "info",
        env = "ZONESYNC_LOG_LEVEL",
        help_heading = "Logging"
    )]
    pub log_level: String,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "ZONESYNC_LOG_FORMAT", help_heading = "Logging")]
    pub log_format: LogFormat,
}

/// A flag value that must never be printed (an encryption key): `Debug` shows only that it is
/// set.
#[derive(Clone)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for SecretString {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `annotations` fuzz target (same parser as the `ttl` annotation): these
    /// used to panic inside kube's duration parser instead of naming the bad flag value.
    #[test]
    fn durations_too_long_to_count_are_an_error() {
        let error = parse_duration("99999999999999999999h")
            .unwrap_err()
            .to_string();
        assert!(error.contains("too long a duration"), "{error}");
        assert!(parse_duration("5m-3s").is_err());
        assert!(
            parse_duration("-5m")
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
        assert_eq!(
            parse_duration(" 1h30m "),
            Ok(std::time::Duration::from_secs(5400))
        );
    }
}

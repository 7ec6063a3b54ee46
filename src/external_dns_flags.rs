//! external-dns flags zonesync does not take, and what to use instead.
//!
//! zonesync takes external-dns's flag names for every feature the two share, so an existing
//! argument list mostly works as it is. A flag that is only external-dns's would otherwise fail
//! with a bare "unexpected argument"; this table turns that into a message that names the flag,
//! says it belongs to external-dns, and what zonesync offers in its place (or that it has no
//! equivalent and why). Flags of a provider or source zonesync does not have are grouped by their
//! prefix.

/// What zonesync offers in place of an external-dns flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instead {
    /// Use this instead (flags or annotations).
    Use(&'static str),
    /// Nothing: why not.
    Nothing(&'static str),
}

/// One row: an external-dns flag (without `--`; a trailing `*` matches every flag with that
/// prefix) and what zonesync offers instead.
pub type Row = (&'static str, Instead);

use Instead::{Nothing, Use};

const NO_PROVIDER: Instead = Use(
    "--provider webhook with that provider's external-dns webhook (zonesync's own providers are zonefile, rfc2136 and aws)",
);
const NO_SOURCE: Instead = Nothing(
    "zonesync has no such source (it reads Ingresses and Services, from a cluster or manifest files)",
);
const NO_PODS: Instead = Nothing(
    "zonesync does not read Pods (NodePort and headless Services are published from Nodes and EndpointSlices)",
);

/// Every external-dns flag zonesync does not take. A test checks that none of them is a
/// zonesync flag.
pub const EXTERNAL_DNS_ONLY_FLAGS: &[Row] = &[
    // Kubernetes access.
    (
        "server",
        Use("--kubeconfig (its cluster entry names the API server)"),
    ),
    (
        "kube-api-qps",
        Nothing(
            "zonesync watches its sources instead of polling them, so it needs no client-side rate limit",
        ),
    ),
    (
        "kube-api-burst",
        Nothing(
            "zonesync watches its sources instead of polling them, so it needs no client-side rate limit",
        ),
    ),
    ("kube-api-request-timeout", Use("--request-timeout")),
    // Sources.
    (
        "resolve-service-load-balancer-hostname",
        Nothing(
            "a load balancer host name is published as a CNAME record, resolved by DNS clients",
        ),
    ),
    (
        "publish-host-ip",
        Nothing(
            "a Pod's host IP needs a Pod watch, which zonesync does not have; headless Services are published with their endpoints' addresses",
        ),
    ),
    (
        "expose-internal-ipv6",
        Nothing(
            "NodePort Services publish the nodes' external addresses, or with the access annotation `private` their internal ones (IPv6 included)",
        ),
    ),
    ("ignore-non-host-network-pods", NO_PODS),
    ("pod-source-domain", NO_PODS),
    (
        "compatibility",
        Nothing(
            "zonesync reads only external-dns's own annotations, not those of mate, molecule or kops dns-controller",
        ),
    ),
    (
        "ignore-ingress-rules-spec",
        Use(
            "the annotation external-dns.kubernetes.io/ingress-hostname-source: annotation-only on the Ingresses concerned",
        ),
    ),
    (
        "ignore-ingress-tls-spec",
        Use(
            "the annotation external-dns.kubernetes.io/ingress-hostname-source: defined-hosts-only or annotation-only on the Ingresses concerned",
        ),
    ),
    (
        "target-template",
        Nothing("targets come from the object's status or the target annotation"),
    ),
    (
        "fqdn-target-template",
        Nothing("targets come from the object's status or the target annotation"),
    ),
    (
        "nat64-networks",
        Nothing("zonesync does not synthesise A records from AAAA targets"),
    ),
    (
        "create-ptr",
        Nothing("zonesync does not manage PTR records"),
    ),
    (
        "rfc2136-create-ptr",
        Nothing("zonesync does not manage PTR records"),
    ),
    (
        "prefer-alias",
        Nothing("alias records come from the external-dns.kubernetes.io/alias annotation"),
    ),
    ("cf-*", NO_SOURCE),
    ("gloo-namespace", NO_SOURCE),
    ("skipper-routegroup-groupversion", NO_SOURCE),
    ("connector-source-server", NO_SOURCE),
    ("openshift-router-name", NO_SOURCE),
    ("traefik-*", NO_SOURCE),
    // Zones and records.
    (
        "regex-domain-filter",
        Use("--domain-filter and --exclude-domains (label-boundary suffixes)"),
    ),
    (
        "regex-domain-exclusion",
        Use("--exclude-domains (label-boundary suffixes)"),
    ),
    ("zone-name-filter", Use("--domain-filter")),
    (
        "exclude-record-types",
        Use("--managed-record-types, listing the types to manage"),
    ),
    (
        "min-ttl",
        Nothing("a record's TTL is the ttl annotation's, else the provider default"),
    ),
    (
        "provider-cache-time",
        Nothing(
            "zonesync keeps each zone cached and re-reads it every --interval (the drift pass)",
        ),
    ),
    // Registry.
    (
        "dynamodb-*",
        Use("--registry txt (the DynamoDB registry is not supported)"),
    ),
    // RFC2136 features zonesync does not have.
    (
        "rfc2136-gss-tsig",
        Nothing("GSS-TSIG (Kerberos) is not supported; use a TSIG key"),
    ),
    (
        "rfc2136-kerberos-*",
        Nothing("GSS-TSIG (Kerberos) is not supported; use a TSIG key"),
    ),
    ("rfc2136-use-tls", Nothing("DNS over TLS is not supported")),
    (
        "rfc2136-skip-tls-verify",
        Nothing("DNS over TLS is not supported"),
    ),
    (
        "rfc2136-load-balancing-strategy",
        Nothing("zonesync talks to one server (--rfc2136-host)"),
    ),
    // AWS features zonesync does not have.
    (
        "aws-batch-change-interval",
        Nothing(
            "batches are sent as fast as Route53's rate limit allows (--aws-requests-per-second)",
        ),
    ),
    (
        "aws-batch-change-size-values",
        Use("--aws-batch-change-size and --aws-batch-change-size-bytes"),
    ),
    (
        "aws-zone-match-parent",
        Use("--domain-filter naming the parent zone"),
    ),
    ("aws-sd-*", NO_PROVIDER),
    // Providers zonesync does not have.
    ("google-*", NO_PROVIDER),
    ("alibaba-cloud-*", NO_PROVIDER),
    ("azure-*", NO_PROVIDER),
    ("cloudflare-*", NO_PROVIDER),
    ("coredns-prefix", NO_PROVIDER),
    ("akamai-*", NO_PROVIDER),
    ("oci-*", NO_PROVIDER),
    ("ovh-*", NO_PROVIDER),
    ("pdns-*", NO_PROVIDER),
    ("ns1-*", NO_PROVIDER),
    ("digitalocean-*", NO_PROVIDER),
    ("godaddy-*", NO_PROVIDER),
    ("exoscale-*", NO_PROVIDER),
    ("transip-*", NO_PROVIDER),
    ("pihole-*", NO_PROVIDER),
    ("plural-*", NO_PROVIDER),
    ("tls-ca", NO_PROVIDER),
    ("tls-client-cert", NO_PROVIDER),
    ("tls-client-cert-key", NO_PROVIDER),
];

/// The row for `flag` (`--name`, `--name=value` or `--no-name`), if it is an external-dns flag
/// zonesync does not take.
pub fn lookup(flag: &str) -> Option<&'static Row> {
    let name = flag.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    let find = |name: &str| {
        EXTERNAL_DNS_ONLY_FLAGS
            .iter()
            .find(|(pattern, _)| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => *pattern == name,
            })
    };
    find(name).or_else(|| name.strip_prefix("no-").and_then(find))
}

/// The message for an external-dns flag zonesync does not take; `None` for any other flag.
pub fn explain(flag: &str) -> Option<String> {
    let (_, instead) = lookup(flag)?;
    let name = flag.split_once('=').map_or(flag, |(name, _)| name);
    Some(match instead {
        Use(what) => {
            format!(
                "{name} is an external-dns flag that zonesync does not take; use {what} instead"
            )
        }
        Nothing(why) => {
            format!("{name} is an external-dns flag with no zonesync equivalent: {why}")
        }
    })
}

/// The message for a command-line parse error caused by an external-dns flag zonesync does not
/// take; `None` for any other error.
pub fn explain_parse_error(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    match error.get(ContextKind::InvalidArg)? {
        ContextValue::String(flag) => explain(flag),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn zonesync_flags() -> Vec<String> {
        let command = crate::cli::Cli::command();
        let mut flags = Vec::new();
        for sub in command.get_subcommands() {
            for arg in sub.get_arguments() {
                if let Some(long) = arg.get_long() {
                    flags.push(long.to_string());
                }
                flags.extend(
                    arg.get_all_aliases()
                        .into_iter()
                        .flatten()
                        .map(String::from),
                );
            }
        }
        flags
    }

    #[test]
    fn no_row_shadows_a_zonesync_flag() {
        for flag in zonesync_flags() {
            assert!(
                lookup(&format!("--{flag}")).is_none(),
                "--{flag} is a zonesync flag but the external-dns table refuses it"
            );
        }
    }

    #[test]
    fn messages_name_the_flag_and_the_alternative() {
        assert_eq!(
            explain("--regex-domain-filter=.*\\.example\\.com").as_deref(),
            Some(
                "--regex-domain-filter is an external-dns flag that zonesync does not take; use --domain-filter and --exclude-domains (label-boundary suffixes) instead"
            )
        );
        let message = explain("--no-cloudflare-proxied").unwrap();
        assert!(
            message.starts_with("--no-cloudflare-proxied is an external-dns flag that zonesync does not take; use --provider webhook with that provider's external-dns webhook"),
            "{message}"
        );
        assert_eq!(explain("--no-such-flag"), None);
        assert_eq!(explain("--domain-filter"), None);
    }

    #[test]
    fn parse_errors_for_external_dns_flags_are_explained() {
        use clap::Parser;
        let error = crate::cli::Cli::try_parse_from([
            "zonesync",
            "plan",
            "--source",
            "ingress",
            "--provider",
            "aws",
            "--min-ttl=60s",
        ])
        .unwrap_err();
        let message = explain_parse_error(&error).unwrap();
        assert!(
            message.starts_with("--min-ttl is an external-dns flag"),
            "{message}"
        );
        let other = crate::cli::Cli::try_parse_from(["zonesync", "plan", "--bogus"]).unwrap_err();
        assert_eq!(explain_parse_error(&other), None);
    }
}

//! Canonical hosted zones of AWS services: which ALIAS target zone a load balancer, CloudFront,
//! API Gateway, Global Accelerator or VPC endpoint host name belongs to.
//!
//! The table lives in `canonical_zones.tsv` (one line per service and region) so adding a region
//! is a one-line data change.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

const TABLE: &str = include_str!("canonical_zones.tsv");

/// The AWS service behind an ALIAS target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceFamily {
    /// Application and Classic Load Balancers (`<name>.<region>.elb.amazonaws.com`).
    ApplicationLoadBalancer,
    /// Network Load Balancers (`<name>.elb.<region>.amazonaws.com`).
    NetworkLoadBalancer,
    /// CloudFront distributions and edge-optimised API Gateway endpoints.
    CloudFront,
    /// Global Accelerator accelerators.
    GlobalAccelerator,
    /// Regional API Gateway endpoints (`execute-api.<region>.amazonaws.com`).
    ApiGateway,
    /// Interface VPC endpoints (PrivateLink, `<region>.vpce.amazonaws.com`).
    VpcEndpoint,
}

impl ServiceFamily {
    fn parse(token: &str) -> Option<Self> {
        Some(match token {
            "elb" => Self::ApplicationLoadBalancer,
            "nlb" => Self::NetworkLoadBalancer,
            "cloudfront" => Self::CloudFront,
            "global-accelerator" => Self::GlobalAccelerator,
            "api-gateway" => Self::ApiGateway,
            "vpc-endpoint" => Self::VpcEndpoint,
            _ => return None,
        })
    }
}

impl fmt::Display for ServiceFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ApplicationLoadBalancer => "application/classic load balancer",
            Self::NetworkLoadBalancer => "network load balancer",
            Self::CloudFront => "CloudFront",
            Self::GlobalAccelerator => "Global Accelerator",
            Self::ApiGateway => "API Gateway",
            Self::VpcEndpoint => "VPC endpoint",
        })
    }
}

/// The ALIAS target zone of a host name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalZone {
    /// Hosted zone id to put in `AliasTarget.HostedZoneId`.
    pub hosted_zone_id: &'static str,
    /// The service the host name belongs to.
    pub family: ServiceFamily,
}

/// One parsed line of the table, or why it is malformed.
fn parse_line(line: &'static str) -> Option<Result<(&'static str, CanonicalZone), String>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.split('\t').collect();
    let parsed = match fields.as_slice() {
        [family, suffix, zone_id] => match ServiceFamily::parse(family) {
            Some(family)
                if !suffix.is_empty()
                    && *suffix == suffix.to_ascii_lowercase()
                    && !suffix.starts_with('.')
                    && !suffix.ends_with('.')
                    && zone_id.starts_with('Z')
                    && zone_id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
            {
                Ok((
                    *suffix,
                    CanonicalZone {
                        hosted_zone_id: zone_id,
                        family,
                    },
                ))
            }
            _ => Err(format!("malformed line {line:?}")),
        },
        _ => Err(format!(
            "line {line:?} does not have three tab-separated fields"
        )),
    };
    Some(parsed)
}

static ZONES: LazyLock<HashMap<&'static str, CanonicalZone>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter_map(parse_line)
        // Malformed lines cannot ship: a unit test parses the whole table.
        .filter_map(Result::ok)
        .collect()
});

/// The canonical hosted zone of `host` (lower-case, with or without trailing dot), when it is
/// an AWS service host name Route53 can alias to.
pub fn canonical_zone(host: &str) -> Option<CanonicalZone> {
    let host = host.strip_suffix('.').unwrap_or(host);
    // Try every suffix on a label boundary, longest first, so `elb.us-east-1.amazonaws.com`
    // is found before anything shorter could match.
    let mut rest = host;
    while let Some((_, suffix)) = rest.split_once('.') {
        if let Some(zone) = ZONES.get(suffix) {
            return Some(*zone);
        }
        rest = suffix;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family_of(host: &str) -> Option<(ServiceFamily, &'static str)> {
        canonical_zone(host).map(|zone| (zone.family, zone.hosted_zone_id))
    }

    #[test]
    fn every_line_of_the_table_parses_and_suffixes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        let mut count = 0;
        for parsed in TABLE.lines().filter_map(parse_line) {
            let (suffix, _) = parsed.unwrap();
            assert!(seen.insert(suffix), "duplicate suffix {suffix}");
            count += 1;
        }
        assert_eq!(count, ZONES.len());
        assert!(count > 120, "table shrank to {count} entries");
    }

    #[test]
    fn application_and_classic_load_balancers() {
        assert_eq!(
            family_of("my-alb-1234567890.us-east-1.elb.amazonaws.com"),
            Some((ServiceFamily::ApplicationLoadBalancer, "Z35SXDOTRQ7X7K"))
        );
        assert_eq!(
            family_of("dualstack.my-alb-1.eu-west-1.elb.amazonaws.com."),
            Some((ServiceFamily::ApplicationLoadBalancer, "Z32O12XQLNTSW2"))
        );
        assert_eq!(
            family_of("internal-x-1.cn-north-1.elb.amazonaws.com.cn"),
            Some((ServiceFamily::ApplicationLoadBalancer, "Z1GDH35T77C1KE"))
        );
    }

    #[test]
    fn network_load_balancers() {
        assert_eq!(
            family_of("my-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com"),
            Some((ServiceFamily::NetworkLoadBalancer, "Z26RNL4JYFTOTI"))
        );
        assert_eq!(
            family_of("nlb-1.elb.eu-central-1.amazonaws.com"),
            Some((ServiceFamily::NetworkLoadBalancer, "Z3F0SRJ5LGBH90"))
        );
    }

    #[test]
    fn cloudfront_distributions() {
        assert_eq!(
            family_of("d111111abcdef8.cloudfront.net"),
            Some((ServiceFamily::CloudFront, "Z2FDTNDATAQYW2"))
        );
    }

    #[test]
    fn global_accelerators() {
        assert_eq!(
            family_of("a1234567890abcdef.awsglobalaccelerator.com"),
            Some((ServiceFamily::GlobalAccelerator, "Z2BJ6XQ5FK7U4H"))
        );
        assert_eq!(
            family_of("a1234.dualstack.awsglobalaccelerator.com"),
            Some((ServiceFamily::GlobalAccelerator, "Z2BJ6XQ5FK7U4H"))
        );
    }

    #[test]
    fn regional_api_gateways() {
        assert_eq!(
            family_of("d-abcde12345.execute-api.us-west-2.amazonaws.com"),
            Some((ServiceFamily::ApiGateway, "Z2OJLYMUO9EFXC"))
        );
    }

    #[test]
    fn vpc_endpoints() {
        assert_eq!(
            family_of("vpce-0123-abcd.vpce-svc-0456.us-east-1.vpce.amazonaws.com"),
            Some((ServiceFamily::VpcEndpoint, "Z7HUB22UULQXV"))
        );
    }

    #[test]
    fn other_host_names_are_not_aliased() {
        for host in [
            "lb.example.com",
            "elb.amazonaws.com",
            "us-east-1.elb.amazonaws.com",
            "x.us-east-1.elb.amazonaws.com.evil.example",
            "x.xus-east-1.elb.amazonaws.com",
            "bucket.s3-website-us-east-1.amazonaws.com",
            "cloudfront.net",
            "",
        ] {
            assert_eq!(canonical_zone(host), None, "{host}");
        }
    }
}

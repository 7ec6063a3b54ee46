//! Route53 flags as typed ([`AwsArgs`]) and the validated settings built from them
//! ([`Route53Config`]).
//!
//! Defaults live in [`Route53Config::default`], not in clap, so `AwsArgs::default().validate()`
//! and a command line without Route53 flags give the same configuration.

use std::time::Duration;

/// Route53 limit: resource records per `ChangeResourceRecordSets` request (UPSERT counts twice).
pub const MAX_RECORDS_PER_REQUEST: usize = 1_000;
/// Route53 limit: characters in all `Value` elements of one request (UPSERT counts twice).
pub const MAX_CHARACTERS_PER_REQUEST: usize = 32_000;

/// Command-line flags of the Route53 provider (`--provider aws`).
///
/// Names follow external-dns where the two share a feature.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS shared-config profile to read credentials and region from (default: the SDK's default chain).
    #[arg(long, env = "ZONESYNC_AWS_PROFILE", help_heading = "Route53")]
    pub aws_profile: Option<String>,
    /// ARN of an IAM role to assume for every Route53 call.
    #[arg(long, env = "ZONESYNC_AWS_ASSUME_ROLE", help_heading = "Route53")]
    pub aws_assume_role: Option<String>,
    /// External id to present when assuming --aws-assume-role.
    #[arg(
        long,
        env = "ZONESYNC_AWS_ASSUME_ROLE_EXTERNAL_ID",
        help_heading = "Route53"
    )]
    pub aws_assume_role_external_id: Option<String>,
    /// Only manage hosted zones with these ids (`Z0123…` or `/hostedzone/Z0123…`); repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_ZONE_ID_FILTER",
        help_heading = "Route53"
    )]
    pub zone_id_filter: Vec<String>,
    /// Only manage `public` or `private` hosted zones (default: both).
    #[arg(long, env = "ZONESYNC_AWS_ZONE_TYPE", help_heading = "Route53")]
    pub aws_zone_type: Option<String>,
    /// Only manage hosted zones carrying all these tags (`key` or `key=value`); repeatable.
    #[arg(
        long,
        value_delimiter = ',',
        env = "ZONESYNC_AWS_ZONE_TAGS",
        help_heading = "Route53"
    )]
    pub aws_zone_tags: Vec<String>,
    /// How long the list of hosted zones is reused before it is read again; 0s reads it every time [default: 5m].
    #[arg(
        long,
        env = "ZONESYNC_AWS_ZONES_CACHE_DURATION",
        help_heading = "Route53"
    )]
    pub aws_zones_cache_duration: Option<String>,
    /// Write plain CNAMEs instead of ALIAS records for AWS load balancers, CloudFront, API Gateway, Global Accelerator and VPC endpoints.
    #[arg(long, env = "ZONESYNC_AWS_PREFER_CNAME", help_heading = "Route53")]
    pub aws_prefer_cname: bool,
    /// EvaluateTargetHealth of ALIAS records without an aws-evaluate-target-health annotation [default: true].
    #[arg(long, env = "ZONESYNC_AWS_EVALUATE_TARGET_HEALTH", num_args = 0..=1, require_equals = true, default_missing_value = "true", help_heading = "Route53")]
    pub aws_evaluate_target_health: Option<bool>,
    /// Same as --aws-evaluate-target-health=false (external-dns's spelling).
    #[arg(
        long,
        conflicts_with = "aws_evaluate_target_health",
        help_heading = "Route53"
    )]
    pub no_aws_evaluate_target_health: bool,
    /// How many times a throttled or failed Route53 request is retried, with jittered exponential backoff [default: 5].
    #[arg(long, env = "ZONESYNC_AWS_API_RETRIES", help_heading = "Route53")]
    pub aws_api_retries: Option<u32>,
    /// Route53 requests per second this process may send, shared by all calls [default: 10].
    #[arg(
        long,
        env = "ZONESYNC_AWS_REQUESTS_PER_SECOND",
        help_heading = "Route53"
    )]
    pub aws_requests_per_second: Option<f64>,
    /// Route53 requests that may be sent at once before --aws-requests-per-second applies [default: 50].
    #[arg(long, env = "ZONESYNC_AWS_REQUEST_BURST", help_heading = "Route53")]
    pub aws_request_burst: Option<u32>,
    /// Most resource records per ChangeResourceRecordSets request, UPSERT counted twice (1..=1000) [default: 1000].
    #[arg(long, env = "ZONESYNC_AWS_BATCH_CHANGE_SIZE", help_heading = "Route53")]
    pub aws_batch_change_size: Option<usize>,
    /// Most characters of record values per ChangeResourceRecordSets request, UPSERT counted twice (1..=32000) [default: 32000].
    #[arg(
        long,
        env = "ZONESYNC_AWS_BATCH_CHANGE_SIZE_BYTES",
        help_heading = "Route53"
    )]
    pub aws_batch_change_size_bytes: Option<usize>,
}

impl AwsArgs {
    /// Validates the flags into a configuration.
    ///
    /// Fails with a message naming the flag when a value is malformed: an unknown zone type, an
    /// empty tag key, an unparsable duration, a rate or burst of zero, or a batch limit outside
    /// Route53's limits.
    pub fn validate(&self) -> Result<Route53Config, ConfigError> {
        let mut config = Route53Config {
            profile: non_empty(&self.aws_profile),
            ..Route53Config::default()
        };
        if let Some(role_arn) = non_empty(&self.aws_assume_role) {
            config.assume_role = Some(AssumeRole {
                role_arn,
                external_id: non_empty(&self.aws_assume_role_external_id),
            });
        } else if non_empty(&self.aws_assume_role_external_id).is_some() {
            return Err(ConfigError::Needs {
                flag: "--aws-assume-role-external-id",
                needs: "--aws-assume-role",
            });
        }

        config.zone_filter.ids = self
            .zone_id_filter
            .iter()
            .map(|id| clean_zone_id(id.trim()).to_string())
            .filter(|id| !id.is_empty())
            .collect();
        config.zone_filter.zone_type = match self.aws_zone_type.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(value) => Some(match value.to_ascii_lowercase().as_str() {
                "public" => ZoneType::Public,
                "private" => ZoneType::Private,
                _ => {
                    return Err(ConfigError::invalid(
                        "--aws-zone-type",
                        format!("{value:?}"),
                        "must be public or private",
                    ));
                }
            }),
        };
        for tag in self
            .aws_zone_tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            let filter = match tag.split_once('=') {
                Some((key, value)) => TagFilter {
                    key: key.trim().to_string(),
                    value: Some(value.trim().to_string()),
                },
                None => TagFilter {
                    key: tag.to_string(),
                    value: None,
                },
            };
            if filter.key.is_empty() {
                return Err(ConfigError::invalid(
                    "--aws-zone-tags",
                    format!("{tag:?}"),
                    "has an empty key",
                ));
            }
            config.zone_filter.tags.push(filter);
        }

        if let Some(value) = non_empty(&self.aws_zones_cache_duration) {
            config.zones_cache_duration = humantime::parse_duration(&value).map_err(|e| {
                ConfigError::invalid(
                    "--aws-zones-cache-duration",
                    format!("{value:?}"),
                    format!("is not a duration (e.g. 5m, 0s): {e}"),
                )
            })?;
        }
        config.prefer_cname = self.aws_prefer_cname;
        config.evaluate_target_health = if self.no_aws_evaluate_target_health {
            false
        } else {
            self.aws_evaluate_target_health.unwrap_or(true)
        };
        if let Some(retries) = self.aws_api_retries {
            if retries > 20 {
                return Err(ConfigError::invalid(
                    "--aws-api-retries",
                    retries.to_string(),
                    "is too many (at most 20)",
                ));
            }
            config.retry.max_retries = retries;
        }
        if let Some(rate) = self.aws_requests_per_second {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(ConfigError::invalid(
                    "--aws-requests-per-second",
                    rate.to_string(),
                    "must be a positive number",
                ));
            }
            config.rate_limit.requests_per_second = rate;
        }
        if let Some(burst) = self.aws_request_burst {
            if burst == 0 {
                return Err(ConfigError::invalid(
                    "--aws-request-burst",
                    burst.to_string(),
                    "must be at least 1",
                ));
            }
            config.rate_limit.burst = burst;
        }
        if let Some(records) = self.aws_batch_change_size {
            if !(1..=MAX_RECORDS_PER_REQUEST).contains(&records) {
                return Err(ConfigError::invalid(
                    "--aws-batch-change-size",
                    records.to_string(),
                    format!("must be between 1 and {MAX_RECORDS_PER_REQUEST}"),
                ));
            }
            config.batch_limits.max_records = records;
        }
        if let Some(characters) = self.aws_batch_change_size_bytes {
            if !(1..=MAX_CHARACTERS_PER_REQUEST).contains(&characters) {
                return Err(ConfigError::invalid(
                    "--aws-batch-change-size-bytes",
                    characters.to_string(),
                    format!("must be between 1 and {MAX_CHARACTERS_PER_REQUEST}"),
                ));
            }
            config.batch_limits.max_characters = characters;
        }
        Ok(config)
    }
}

/// Why the `--aws-*` flags are unusable. Messages name the flag and its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A flag given without the flag it qualifies.
    #[error("{flag} needs {needs}")]
    Needs {
        /// The flag given.
        flag: &'static str,
        /// The flag it needs.
        needs: &'static str,
    },
    /// A flag has a value zonesync cannot use.
    #[error("{flag} {value} {problem}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value as given (quoted when it is text).
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl ConfigError {
    fn invalid(flag: &'static str, value: String, problem: impl Into<String>) -> Self {
        Self::Invalid {
            flag,
            value,
            problem: problem.into(),
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A hosted zone id without the `/hostedzone/` prefix Route53 sometimes puts in front of it.
pub fn clean_zone_id(id: &str) -> &str {
    id.strip_prefix("/hostedzone/").unwrap_or(id)
}

/// Validated Route53 settings.
#[derive(Debug, Clone)]
pub struct Route53Config {
    /// Shared-config profile (`--aws-profile`); `None` uses the SDK's default chain.
    pub profile: Option<String>,
    /// Role to assume for every call (`--aws-assume-role`).
    pub assume_role: Option<AssumeRole>,
    /// Which hosted zones to manage.
    pub zone_filter: ZoneFilter,
    /// How long the hosted-zone list is reused; zero lists zones on every call.
    pub zones_cache_duration: Duration,
    /// Keep CNAMEs to AWS service host names instead of turning them into ALIAS records.
    pub prefer_cname: bool,
    /// EvaluateTargetHealth for ALIAS records that do not say.
    pub evaluate_target_health: bool,
    /// Client-side rate limit shared by all calls.
    pub rate_limit: RateLimit,
    /// Retries of throttled and transiently failed requests.
    pub retry: RetryPolicy,
    /// Size limits of one `ChangeResourceRecordSets` request.
    pub batch_limits: BatchLimits,
    /// Time allowed for one HTTP attempt, connection included.
    pub attempt_timeout: Duration,
}

impl Default for Route53Config {
    /// The settings used when no flag is given.
    fn default() -> Self {
        Self {
            profile: None,
            assume_role: None,
            zone_filter: ZoneFilter::default(),
            zones_cache_duration: Duration::from_secs(300),
            prefer_cname: false,
            evaluate_target_health: true,
            rate_limit: RateLimit::default(),
            retry: RetryPolicy::default(),
            batch_limits: BatchLimits::default(),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

/// An IAM role to assume through STS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// The role ARN.
    pub role_arn: String,
    /// The external id the role's trust policy expects, if any.
    pub external_id: Option<String>,
}

/// Public or private hosted zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneType {
    /// Zones served on the internet.
    Public,
    /// Zones associated with VPCs.
    Private,
}

/// One `--aws-zone-tags` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// The tag key that must be present.
    pub key: String,
    /// The value it must have; `None` accepts any value.
    pub value: Option<String>,
}

/// Which hosted zones the provider manages. Every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneFilter {
    /// Zone ids without the `/hostedzone/` prefix; empty accepts all.
    pub ids: Vec<String>,
    /// Public or private only; `None` accepts both.
    pub zone_type: Option<ZoneType>,
    /// Tags the zone must carry; empty accepts all (and saves the tag calls).
    pub tags: Vec<TagFilter>,
}

impl ZoneFilter {
    /// True when a zone with this id and visibility passes the id and type conditions.
    pub fn matches_id_and_type(&self, zone_id: &str, private: bool) -> bool {
        let id_ok = self.ids.is_empty() || self.ids.iter().any(|id| id == clean_zone_id(zone_id));
        let type_ok = match self.zone_type {
            None => true,
            Some(ZoneType::Public) => !private,
            Some(ZoneType::Private) => private,
        };
        id_ok && type_ok
    }

    /// True when `tags` (key, value) satisfy every tag condition.
    pub fn matches_tags<'t>(&self, tags: impl Iterator<Item = (&'t str, &'t str)> + Clone) -> bool {
        self.tags.iter().all(|filter| {
            tags.clone().any(|(key, value)| {
                key == filter.key && filter.value.as_deref().is_none_or(|wanted| wanted == value)
            })
        })
    }
}

/// A token bucket: `burst` requests at once, refilled at `requests_per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub requests_per_second: f64,
    /// Requests that may be sent back to back.
    pub burst: u32,
}

impl Default for RateLimit {
    /// Route53's default account bucket since 2026: burst 50, 10 requests per second.
    fn default() -> Self {
        Self {
            requests_per_second: 10.0,
            burst: 50,
        }
    }
}

/// Jittered exponential backoff for retryable failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; zero never retries.
    pub max_retries: u32,
    /// Delay before the first retry (doubled each time, plus up to as much again in jitter).
    pub min_delay: Duration,
    /// Longest delay between two attempts, before jitter.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five retries from 500 ms up to 8 s: at most about 30 s of waiting per request.
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Size limits of one `ChangeResourceRecordSets` request. UPSERT changes count twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Resource records (an ALIAS counts as one).
    pub max_records: usize,
    /// Characters in all record values.
    pub max_characters: usize,
}

impl Default for BatchLimits {
    /// Route53's own limits: 1,000 records and 32,000 characters.
    fn default() -> Self {
        Self {
            max_records: MAX_RECORDS_PER_REQUEST,
            max_characters: MAX_CHARACTERS_PER_REQUEST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_flags_give_the_documented_defaults() {
        let config = AwsArgs::default().validate().unwrap();
        assert_eq!(config.zones_cache_duration, Duration::from_secs(300));
        assert!(config.evaluate_target_health);
        assert!(!config.prefer_cname);
        assert_eq!(
            config.rate_limit,
            RateLimit {
                requests_per_second: 10.0,
                burst: 50
            }
        );
        assert_eq!(config.batch_limits.max_records, 1000);
        assert_eq!(config.batch_limits.max_characters, 32000);
        assert_eq!(config.retry.max_retries, 5);
        assert_eq!(config.zone_filter, ZoneFilter::default());
    }

    #[test]
    fn flags_are_validated() {
        let args = AwsArgs {
            zone_id_filter: vec!["/hostedzone/Z1".into(), "Z2".into()],
            aws_zone_type: Some("Private".into()),
            aws_zone_tags: vec!["team=dns".into(), "managed".into()],
            aws_zones_cache_duration: Some("0s".into()),
            no_aws_evaluate_target_health: true,
            aws_assume_role: Some("arn:aws:iam::123456789012:role/dns".into()),
            aws_assume_role_external_id: Some("ext".into()),
            ..AwsArgs::default()
        };
        let config = args.validate().unwrap();
        assert_eq!(config.zone_filter.ids, ["Z1", "Z2"]);
        assert_eq!(config.zone_filter.zone_type, Some(ZoneType::Private));
        assert_eq!(config.zone_filter.tags.len(), 2);
        assert_eq!(config.zones_cache_duration, Duration::ZERO);
        assert!(!config.evaluate_target_health);
        assert_eq!(
            config.assume_role.unwrap().external_id.as_deref(),
            Some("ext")
        );

        for bad in [
            AwsArgs {
                aws_zone_type: Some("internal".into()),
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_zone_tags: vec!["=x".into()],
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_zones_cache_duration: Some("soon".into()),
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_requests_per_second: Some(0.0),
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_request_burst: Some(0),
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_batch_change_size: Some(1001),
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_batch_change_size_bytes: Some(0),
                ..AwsArgs::default()
            },
            AwsArgs {
                aws_assume_role_external_id: Some("x".into()),
                ..AwsArgs::default()
            },
        ] {
            let error = bad
                .validate()
                .expect_err(&format!("{bad:?} was accepted"))
                .to_string();
            assert!(error.starts_with("--aws-"), "{error}");
        }
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        aws: AwsArgs,
    }

    fn parse(args: &[&str]) -> Result<Route53Config, String> {
        use clap::Parser;
        let cli = Cli::try_parse_from(std::iter::once("zonesync").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.aws.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn command_line_spellings_parse() {
        let config = parse(&[
            "--zone-id-filter=Z1,Z2",
            "--aws-zone-tags",
            "a=b,c",
            "--aws-evaluate-target-health=false",
            "--aws-prefer-cname",
            "--aws-requests-per-second",
            "2.5",
        ])
        .unwrap();
        assert_eq!(config.zone_filter.ids, ["Z1", "Z2"]);
        assert_eq!(config.zone_filter.tags.len(), 2);
        assert!(!config.evaluate_target_health);
        assert!(config.prefer_cname);
        assert_eq!(config.rate_limit.requests_per_second, 2.5);
        assert!(
            parse(&["--aws-evaluate-target-health"])
                .unwrap()
                .evaluate_target_health
        );
        assert!(
            !parse(&["--no-aws-evaluate-target-health"])
                .unwrap()
                .evaluate_target_health
        );
        assert!(
            parse(&[
                "--no-aws-evaluate-target-health",
                "--aws-evaluate-target-health=true"
            ])
            .is_err()
        );
    }

    #[test]
    fn zone_filter_checks_ids_types_and_tags() {
        let filter = ZoneFilter {
            ids: vec!["Z1".into()],
            zone_type: Some(ZoneType::Public),
            tags: vec![
                TagFilter {
                    key: "env".into(),
                    value: Some("prod".into()),
                },
                TagFilter {
                    key: "dns".into(),
                    value: None,
                },
            ],
        };
        assert!(filter.matches_id_and_type("/hostedzone/Z1", false));
        assert!(!filter.matches_id_and_type("Z1", true));
        assert!(!filter.matches_id_and_type("Z2", false));
        let tags = [("env", "prod"), ("dns", "")];
        assert!(filter.matches_tags(tags.iter().copied()));
        let wrong = [("env", "dev"), ("dns", "yes")];
        assert!(!filter.matches_tags(wrong.iter().copied()));
        let missing = [("env", "prod")];
        assert!(!filter.matches_tags(missing.iter().copied()));
    }
}

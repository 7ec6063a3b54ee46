//! The contract every DNS back end implements.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::change::{ApplyReport, ChangeGroup};
use crate::error::ProviderError;
use crate::name::DnsName;
use crate::record::Endpoint;
use crate::zone::Zone;

/// TTL written for records whose TTL is not configured, unless a provider says otherwise.
pub const DEFAULT_TTL: u32 = 300;

/// The names a back end itself lets zonesync manage (the webhook protocol's negotiated domain
/// filter). zonesync never plans a name outside it, on top of `--domain-filter`.
pub trait NameScope: fmt::Debug + Send + Sync {
    /// True when zonesync may manage `name`.
    fn contains(&self, name: &DnsName) -> bool;
}

/// A DNS back end: lists zones and records, applies changes.
///
/// Providers never see dry-run: zonesync decides in one place whether to call [`Provider::apply`].
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short name for logs and metrics (`rfc2136`, `aws`, `zonefile`).
    fn name(&self) -> &'static str;

    /// The zones this provider manages, after its own zone filters.
    ///
    /// Fails when the back end cannot be reached or refuses the listing.
    async fn zones(&self) -> Result<Vec<Zone>, ProviderError>;

    /// Every RRset of `zone`, including records zonesync does not manage (SOA, NS, MX, foreign
    /// TXT …), so the planner can see what it must not clobber.
    ///
    /// Fails when the zone cannot be read completely: a partial listing is an error, never a
    /// short list.
    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError>;

    /// Applies `groups` to `zone`. Each group is written atomically where the back end allows.
    ///
    /// Returns `Err` when nothing could be applied (or the outcome is unknown); `Ok` with
    /// rejections when some groups were refused and the others applied.
    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup],
    ) -> Result<ApplyReport, ProviderError>;

    /// Forgets any cached copy of `zone`'s records, so the next [`Provider::records`] reads the
    /// server. The controller's drift pass calls it. Providers that validate their cache on every
    /// read (RFC2136 compares the SOA serial) may ignore it.
    fn invalidate(&self, _zone: &Zone) {}

    /// The names this back end lets zonesync manage, when it restricts them beyond its zones;
    /// `None` (the default) means every name in its zones.
    fn name_scope(&self) -> Option<Arc<dyn NameScope>> {
        None
    }

    /// TTL the provider writes for a record whose TTL is not configured.
    fn default_ttl(&self) -> u32 {
        DEFAULT_TTL
    }

    /// Turns desired endpoints into what this provider will store: drops properties it does not
    /// understand (so they cannot cause a perpetual diff) and applies provider conventions
    /// (Route53 turns load-balancer CNAMEs into ALIAS records).
    fn adjust_desired(&self, mut desired: Vec<Endpoint>) -> Vec<Endpoint> {
        for endpoint in &mut desired {
            endpoint.properties.clear();
        }
        desired
    }
}

//! The contract every DNS back end implements.

use async_trait::async_trait;

use crate::change::{ApplyReport, ChangeGroup};
use crate::error::ProviderError;
use crate::record::Endpoint;
use crate::zone::Zone;

/// TTL written for records whose TTL is not configured, unless a provider says otherwise.
pub const DEFAULT_TTL: u32 = 300;

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

    /// Every RRset of `zone`, read from the back end, including records zonesync does not
    /// manage (SOA, NS, MX, foreign TXT …), so the planner can see what it must not clobber.
    /// Providers keep no copy of a zone: the caller holds the one copy.
    ///
    /// Fails when the zone cannot be read completely: a partial listing is an error, never a
    /// short list.
    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError>;

    /// True when `zone` is known not to have changed since this provider last listed it with
    /// [`Provider::records`], apart from this provider's own applies (RFC2136 compares the SOA
    /// serial). A caller holding the listing patched with its own applies may then skip
    /// re-reading the zone. The default, `false`, always re-reads.
    ///
    /// Fails when the back end cannot be asked.
    async fn unchanged_since_read(&self, _zone: &Zone) -> Result<bool, ProviderError> {
        Ok(false)
    }

    /// Applies `groups` to `zone`. Each group is written atomically where the back end allows.
    ///
    /// Returns `Err` when nothing could be applied (or the outcome is unknown); `Ok` with
    /// rejections when some groups were refused and the others applied.
    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ProviderError>;

    /// TTL the provider writes for a record whose TTL is not configured.
    fn default_ttl(&self) -> u32 {
        DEFAULT_TTL
    }

    /// Turns desired endpoints into what this provider will store: drops properties it does not
    /// understand (so they cannot cause a perpetual diff) and applies provider conventions
    /// (Route53 turns load-balancer CNAMEs into ALIAS records; a webhook provider asks its
    /// server). Called once per plan with every desired endpoint of the plan.
    ///
    /// Fails when the back end must be asked and cannot be.
    async fn adjust_desired(
        &self,
        mut desired: Vec<Endpoint>,
    ) -> Result<Vec<Endpoint>, ProviderError> {
        for endpoint in &mut desired {
            endpoint.properties.clear();
        }
        Ok(desired)
    }
}

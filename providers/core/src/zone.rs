//! Zones: the unit a provider lists and writes.

use serde::Serialize;

use crate::name::DnsName;

/// A DNS zone served by a provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Zone {
    /// Provider-specific identifier (Route53 hosted zone id, zone file path, or the zone name).
    pub id: String,
    /// Apex name of the zone.
    pub name: DnsName,
    /// Split-horizon group. A record goes to the longest matching zone of *each* group, so a
    /// name in both a public and a private zone is written to both; providers without split
    /// horizon put every zone in the same group (the empty string).
    pub horizon: String,
}

impl Zone {
    /// A zone in the default (single) horizon, identified by its name.
    pub fn new(name: DnsName) -> Self {
        Self {
            id: name.to_string(),
            name,
            horizon: String::new(),
        }
    }

    /// Sets the provider-specific id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the split-horizon group.
    #[must_use]
    pub fn with_horizon(mut self, horizon: impl Into<String>) -> Self {
        self.horizon = horizon.into();
        self
    }

    /// True when `name` belongs in this zone (equal to or below the apex).
    pub fn contains(&self, name: &DnsName) -> bool {
        name.is_within(&self.name)
    }
}

/// For each horizon, the longest zone containing `name`; in zone-list order.
///
/// Returns an empty list when no zone contains the name.
pub fn zones_for<'z>(zones: &'z [Zone], name: &DnsName) -> Vec<&'z Zone> {
    let mut best: Vec<&'z Zone> = Vec::new();
    for zone in zones.iter().filter(|zone| zone.contains(name)) {
        match best.iter_mut().find(|b| b.horizon == zone.horizon) {
            Some(current) if zone.name.label_count() > current.name.label_count() => {
                *current = zone
            }
            Some(_) => {}
            None => best.push(zone),
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        Zone::new(DnsName::parse(name).unwrap())
    }

    #[test]
    fn picks_longest_zone_on_label_boundary() {
        let zones = [
            zone("example.com"),
            zone("dev.example.com"),
            zone("ample.com"),
        ];
        let name = DnsName::parse("api.dev.example.com").unwrap();
        let found = zones_for(&zones, &name);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name.as_str(), "dev.example.com");
        let other = DnsName::parse("www.example.com").unwrap();
        assert_eq!(zones_for(&zones, &other)[0].name.as_str(), "example.com");
        assert!(zones_for(&zones, &DnsName::parse("example.org").unwrap()).is_empty());
    }

    #[test]
    fn writes_to_every_horizon() {
        let zones = [
            zone("example.com").with_horizon("public"),
            zone("example.com")
                .with_id("private-1")
                .with_horizon("private-1"),
        ];
        let name = DnsName::parse("www.example.com").unwrap();
        assert_eq!(zones_for(&zones, &name).len(), 2);
    }
}

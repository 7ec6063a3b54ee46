//! Webhook provider: zonesync manages DNS in every service that has an external-dns webhook
//! provider (Hetzner, IONOS, STACKIT, Infoblox, OpenStack Designate, UniFi, Mikrotik, AdGuard,
//! Porkbun, Netcup, deSEC, Gcore, …), through external-dns's webhook protocol version 1
//! (`application/external.dns.webhook+json;version=1`), the provider usually running as a
//! sidecar on `http://localhost:8888`.
//!
//! - **Negotiation** (`GET /`) when the provider is built: the answer's `Content-Type` must be
//!   exactly the media type; its body is the provider's domain filter, which becomes zonesync's
//!   zones (one per included domain) and its [`NameScope`](zonesync_core::NameScope): names
//!   outside it are never planned. See [`filter`].
//! - **Reads**: `GET /records` on every [`Provider::records`](zonesync_core::Provider::records)
//!   call; nothing is cached. TXT ownership markers are read with or without their quotes.
//! - **Desired state**: `POST /adjustendpoints` ([`WebhookProvider::adjust_endpoints`]) lets the
//!   provider normalise the desired endpoints (defaults for its properties) so plans converge.
//!   Only `webhook/<name>` properties are sent.
//! - **Changes**: `POST /records` with `create`, `updateOld`/`updateNew` (paired by position) and
//!   `delete`, a record and its markers always in the same request, as few requests as the
//!   32 MiB body limit allows; a batch the provider refuses with a 4xx is bisected until the
//!   offending change groups are isolated, and the others are applied.
//! - **Errors**: connection errors and 5xx are retried with jittered exponential backoff (timeouts
//!   too, except for changes, whose outcome is then unknown); other statuses are not retried and
//!   are reported with the provider's message, cleaned of control characters and cut to 300
//!   characters.
//!
//! Public API: [`WebhookArgs`] (the `--webhook-provider-*` flags) → [`WebhookArgs::validate`] →
//! [`WebhookConfig`] → [`WebhookProvider::new`].

mod client;
mod config;
mod error;
pub mod filter;
mod provider;
mod wire;

pub use wire::WireError;

pub use client::{MEDIA_TYPE, WebhookStats};
pub use config::{
    ConfigError, DEFAULT_ATTEMPTS, DEFAULT_READ_TIMEOUT, DEFAULT_URL, DEFAULT_WRITE_TIMEOUT,
    MAX_BODY_BYTES, WebhookArgs, WebhookConfig,
};
pub use error::WebhookError;
pub use filter::{FilterError, NegotiatedFilter};
pub use provider::{PROPERTY_PREFIX, WebhookProvider};

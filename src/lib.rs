//! zonesync keeps DNS zones in step with what a Kubernetes cluster exposes.
//!
//! The pipeline: [`source`] turns objects into desired endpoints; [`registry`] splits a zone's
//! records into ours and foreign using external-dns-compatible TXT markers; [`plan`] diffs the
//! two into [`zonesync_core::Change`]s; [`render`] prints them and [`apply`] writes them through
//! a [`zonesync_core::Provider`]. The core (sources, registry, planner) is pure and synchronous;
//! I/O lives at the edges.

pub mod apply;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod controller;
pub mod duration;
pub mod external_dns_flags;
pub mod filter;
pub mod flags;
pub mod plan;
pub mod registry;
pub mod render;
pub mod safety;
pub mod source;

#[cfg(test)]
pub(crate) mod testing;

//! zonesync's integration tests: the real binary against real peers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod common;
mod controller;
mod deploy;
mod faults;
mod gateway;
mod helm;
mod kube;
mod markers;
mod migration;
mod rfc2136;
mod route53;
mod services;
mod webhook;
mod workload_checks;

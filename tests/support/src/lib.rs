//! Test peers for zonesync's tests. Every server binds loopback only, on a port the test picks,
//! in a fresh temporary folder, and is killed when its handle is dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod dns;
pub mod inmemory;
pub mod kube_api;
pub mod moto;
pub mod proxy;

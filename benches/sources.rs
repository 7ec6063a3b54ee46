//! Source benchmarks: Ingresses and LoadBalancer Services turned into claims (and the claims
//! into endpoints) at 1k, 10k and 100k objects, as the controller does for an initial list.
//!
//! Run with `cargo bench --bench sources`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zonesync::source::{SourceConfig, ingress, service};

use support::{SIZES, ingress as make_ingress, service as make_service};

fn source_benches(c: &mut Criterion) {
    let config = SourceConfig::default();
    let backends = zonesync::source::backends::ServiceBackends::new();
    let mut group = c.benchmark_group("sources");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let ingresses: Vec<_> = (0..n).map(make_ingress).collect();
        let services: Vec<_> = (0..n).map(make_service).collect();
        // The objects are what they claim to be: one name and one target each.
        for outcome in ingresses
            .iter()
            .take(3)
            .map(|i| ingress::convert(i, &config))
            .chain(
                services
                    .iter()
                    .take(3)
                    .map(|s| service::convert(s, &backends, &config)),
            )
        {
            let claim = outcome.claim.expect("selected and converted");
            assert_eq!((claim.names.len(), claim.targets.len()), (1, 1));
            assert!(outcome.skipped.is_empty(), "{:?}", outcome.skipped);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("ingress_convert", n), &n, |b, _| {
            b.iter(|| {
                for object in &ingresses {
                    black_box(ingress::convert(object, &config));
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("service_convert", n), &n, |b, _| {
            b.iter(|| {
                for object in &services {
                    black_box(service::convert(object, &backends, &config));
                }
            });
        });
        group.bench_with_input(
            BenchmarkId::new("ingress_convert_and_endpoints", n),
            &n,
            |b, _| {
                b.iter(|| {
                    for object in &ingresses {
                        if let Some(claim) = ingress::convert(object, &config).claim {
                            black_box(claim.endpoints());
                        }
                    }
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, source_benches);
criterion_main!(benches);

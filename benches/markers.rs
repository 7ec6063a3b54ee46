//! Ownership-marker benchmarks: marker name and value encoding and parsing (per marker), and
//! `Registry::inventory` (split a zone into markers and the records they vouch for) over zones of
//! 1k, 10k and 100k owned records, each with its marker (so twice as many RRsets).
//!
//! Run with `cargo bench --bench markers`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zonesync::registry::Registry;
use zonesync_core::{LABEL_OWNER, LABEL_RESOURCE, Labels, RecordType};

use support::{SIZES, host, registry, resource, stored_a, zone_records};

fn codec_benches(c: &mut Criterion) {
    let registry = registry();
    let name = host(4242);
    let marker_name = registry.marker_name(&name, &RecordType::A);
    let mut labels = Labels::new();
    labels.insert(LABEL_OWNER.into(), "default".into());
    labels.insert(LABEL_RESOURCE.into(), resource(4242));
    let value = Registry::marker_value(&labels);
    let quoted = format!("\"{value}\"");
    let mut record = stored_a(4242);
    record.labels = labels.clone();

    let mut group = c.benchmark_group("marker");
    group.bench_function("name_encode", |b| {
        b.iter(|| black_box(registry.marker_name(black_box(&name), &RecordType::A)));
    });
    group.bench_function("name_parse", |b| {
        b.iter(|| black_box(registry.record_for_marker(black_box(&marker_name))));
    });
    group.bench_function("value_encode", |b| {
        b.iter(|| black_box(Registry::marker_value(black_box(&labels))));
    });
    group.bench_function("value_parse", |b| {
        b.iter(|| black_box(Registry::parse_marker_value(black_box(&quoted))));
    });
    group.bench_function("marker_for", |b| {
        b.iter(|| black_box(registry.marker_for(black_box(&record))));
    });
    group.finish();
}

fn inventory_benches(c: &mut Criterion) {
    let registry = registry();
    let mut group = c.benchmark_group("inventory");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let records = zone_records(&registry, n);
        let inventory = registry.inventory(records.clone());
        assert_eq!(inventory.markers.len(), n);
        assert_eq!(
            inventory
                .records
                .iter()
                .filter(|r| r.ownership.is_ours())
                .count(),
            n
        );
        group.throughput(Throughput::Elements(records.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_batched(
                || records.clone(),
                |records| black_box(registry.inventory(records)),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, codec_benches, inventory_benches);
criterion_main!(benches);

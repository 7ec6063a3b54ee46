//! Planner benchmarks: `Planner::plan` over a zone holding `n` owned records and their markers,
//! against `n` desired endpoints, at 1k, 10k and 100k.
//!
//! - `steady`: desired state and zone agree; the plan is empty (a drift pass over an unchanged
//!   zone).
//! - `one_percent`: one host in a hundred differs (a third each updated, new, gone).
//! - `inventory_and_plan`: what a drift pass does after reading the zone: split it into owned and
//!   foreign with `Registry::inventory`, then plan (steady state).
//!
//! The target (issue 8): 100,000 endpoints planned in under 100 ms on one core. Run with
//! `cargo bench --bench planner`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zonesync::plan::{PlanOptions, Planner};

use support::{SIZES, expected_churn, registry, scenario, zone};

fn plan_benches(c: &mut Criterion) {
    let registry = registry();
    let options = PlanOptions::default();
    let planner = Planner::new(&registry, &options);
    let mut group = c.benchmark_group("planner");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        for (label, changed) in [("steady", false), ("one_percent", true)] {
            let (records, state) = scenario(&registry, n, changed);
            // The inputs are what they claim to be.
            let zones = [(zone(), registry.inventory(records.clone()))];
            let plan = planner.plan(&state.endpoints, &state, &zones, &[]);
            let counts = plan.counts();
            let expected = if changed {
                expected_churn(n)
            } else {
                (0, 0, 0)
            };
            assert_eq!(
                (counts.update, counts.create, counts.delete),
                expected,
                "{label} at {n}"
            );
            assert!(plan.conflicts.is_empty() && plan.skipped.is_empty());

            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                // The plan is dropped outside the measurement; the inventory is the caller's.
                b.iter_with_large_drop(|| {
                    black_box(planner.plan(&state.endpoints, &state, &zones, &[]))
                });
            });
            if !changed {
                group.bench_with_input(BenchmarkId::new("inventory_and_plan", n), &n, |b, _| {
                    b.iter_batched(
                        || records.clone(),
                        |records| {
                            // Dropping the inventory is part of a drift pass, so it is measured.
                            let zones = [(zone(), registry.inventory(records))];
                            black_box(planner.plan(&state.endpoints, &state, &zones, &[]))
                        },
                        BatchSize::LargeInput,
                    );
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, plan_benches);
criterion_main!(benches);

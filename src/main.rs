//! The `zonesync` binary.

/// jemalloc, with its background threads purging freed pages, gives memory back to the system
/// after a large reconcile, so the resident set follows the live heap down (glibc's malloc kept
/// the initial sync's peak resident for the life of the process).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    zonesync::commands::main()
}

//! The `netpath` command: arguments in, library calls, rendered output and an exit code out.

mod cli;

/// jemalloc: on the large snapshots it loads, traces and frees faster than the system
/// allocator, with a lower peak.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(cli::run());
}

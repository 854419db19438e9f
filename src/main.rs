//! The `workgate` command; everything it does lives in the library.

/// mimalloc rather than the system allocator: a GraphQL response is built
/// from many small short-lived allocations, and glibc's malloc and free
/// were a quarter of the server's CPU under load (BENCHMARKS.md, profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    workgate::cli::main()
}

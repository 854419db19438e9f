//! Criterion benchmarks of the policy (filled in by the next commit).
fn main() {}

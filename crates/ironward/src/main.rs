//! The `ironward` binary.
fn main() {}

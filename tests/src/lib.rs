//! The tests' view of the local stack: everything of [`tasker_local`] under the name the tests use. The
//! integration tests are in `tests/tests/`, the benchmarks of the flow in `tests/examples/`; the stack itself is
//! the `tasker-local` crate (`local/`).

pub use tasker_local::*;

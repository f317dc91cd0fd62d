//! # renkei-testkit
//!
//! Seeded generators of realistic, standard-conformant bundles: offices with valid 事業所番号,
//! clients with valid 保険者番号, and every file kind of the standard (v4, and the v3 kinds),
//! grouped into correct send units. Used by tests, as fuzz seeds, for the committed samples and
//! by the benchmarks. The same seed always gives the same bytes.

#![deny(missing_docs)]

mod generate;
#[cfg(feature = "hub")]
pub mod hub;
pub mod postgres;
mod registry;
mod rng;
mod samples;
pub mod seaweed;

pub use generate::*;
pub use registry::*;
pub use rng::Rng;
pub use samples::*;

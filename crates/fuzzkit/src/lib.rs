//! Structure-aware mutation testing for modforge's binary parsers (a dev-only crate: capability
//! crates list it under `[dev-dependencies]`).
//!
//! A parser of hostile input must answer every file with a value or an error of a category, never
//! a panic, and its allocation and work must stay within a fixed multiple of the input's size.
//! Random bytes rarely get past a checksum or a magic number, so this kit mutates *real* files:
//!
//! - [`Shape`] describes where a valid input keeps its fields (offsets, lengths, counts, indexes,
//!   flags) and its regions (text, arrays, blobs). The caller builds it from its own layout.
//! - [`Mutator`] applies seeded mutations that respect the shape: a field set to an interesting
//!   value (0, the maximum, the input's length, another field's value so that structures overlap),
//!   a field copied onto another, bytes splatted into a region, a range copied over another, bit
//!   flips, truncation, extension, insertion and removal.
//! - A *reseal* callback repairs what the format protects (lengths, checksums), so every mutant
//!   reaches the structural checks instead of failing at the first checksum.
//! - [`CountingAllocator`], installed as the test binary's global allocator, measures the peak of
//!   live heap bytes of a closure on the calling thread ([`measure`]).
//! - [`Runner`] runs the cases: each mutant goes to the target, which returns an [`Outcome`]
//!   (accepted, or rejected with the error category's name) and the units of work it did; the
//!   runner catches panics and checks peak allocation and work against [`Limits`]. The [`Report`]
//!   counts outcomes, records the largest allocation and work multiples seen and every failed case
//!   with the mutations that produced it (replayable by its case number).
//!
//! Using it for a parser (a format with a 4-byte count of 8-byte records, protected by nothing):
//!
//! ```
//! use modforge_fuzzkit::{Field, Limits, Mutator, Outcome, Role, Runner, Seed, Shape, Width};
//!
//! /// The parser under test: a u32 count, then that many u64 values.
//! fn parse(bytes: &[u8]) -> Result<Vec<u64>, &'static str> {
//!     let count = u32::from_le_bytes(bytes.get(..4).ok_or("short")?.try_into().unwrap_or_default());
//!     // The count is checked against the input's length before anything is allocated.
//!     let body = bytes.get(4..).ok_or("short")?;
//!     if (count as usize).checked_mul(8) != Some(body.len()) {
//!         return Err("count does not match the length");
//!     }
//!     Ok(body.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect())
//! }
//!
//! let mut valid = 2u32.to_le_bytes().to_vec();
//! valid.extend_from_slice(&7u64.to_le_bytes());
//! valid.extend_from_slice(&9u64.to_le_bytes());
//! let shape = Shape::default().field(Field::new("count", 0, Width::U32, Role::Count));
//! let report = Runner::new(1, 2_000)
//!     .limits(Limits { alloc_multiple: 2.0, alloc_slack: 1024, work_multiple: 1.0, work_slack: 16 })
//!     .run(&[Seed::new("two records", valid, shape)], |_| {}, |input| {
//!         match parse(input) {
//!             Ok(values) => Ok((Outcome::Accepted, values.len() as u64)),
//!             Err(_) => Ok((Outcome::Rejected("format"), 1)),
//!         }
//!     });
//! report.assert_clean();
//! assert_eq!(report.cases, 2_000);
//! ```
//!
//! The dataset payload's suite (`crates/dataset/tests/fuzz.rs`) is the full-size example: its
//! shape lists every header, table and column field, offsets, index slots, the names blob and the
//! report, and its target opens, inspects, verifies and reads every cell of each mutant.

mod alloc;
mod mutate;
mod runner;

pub use alloc::{CountingAllocator, Usage, measure};
pub use mutate::{CustomMutation, Field, Mutation, Mutator, Region, Role, Shape, Width};
pub use runner::{FailedCase, Limits, Outcome, Report, Runner, Seed, SeedStats};

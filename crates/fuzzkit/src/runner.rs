//! Running mutated cases against a target and reporting what happened.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use modforge_gen::SplitMix64;

use crate::alloc::measure;
use crate::mutate::{CustomMutation, Mutation, Mutator, Shape};

/// A valid input to mutate, with its shape.
#[derive(Debug, Clone)]
pub struct Seed {
    /// A name for reports.
    pub name: String,
    /// The valid input.
    pub bytes: Vec<u8>,
    /// Where its fields and regions are.
    pub shape: Shape,
}

impl Seed {
    /// A seed named `name`.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>, shape: Shape) -> Self {
        Seed {
            name: name.into(),
            bytes,
            shape,
        }
    }
}

/// What the target made of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Parsed: a value.
    Accepted,
    /// Refused with an error of this category (`corrupt`, `format`, ...). The target reports an
    /// error of the internal category (a bug) as a failure instead.
    Rejected(&'static str),
}

/// The bounds every case must keep: peak allocation at most `alloc_multiple × len + alloc_slack`
/// bytes and work at most `work_multiple × len + work_slack` units, `len` being the mutated
/// input's length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Allowed peak heap bytes per input byte.
    pub alloc_multiple: f64,
    /// Allowed peak heap bytes whatever the input.
    pub alloc_slack: usize,
    /// Allowed work units per input byte.
    pub work_multiple: f64,
    /// Allowed work units whatever the input.
    pub work_slack: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            alloc_multiple: 8.0,
            alloc_slack: 64 << 10,
            work_multiple: 8.0,
            work_slack: 1 << 12,
        }
    }
}

/// A case that failed: it panicked, broke a limit, or the target found an invariant broken.
#[derive(Debug, Clone)]
pub struct FailedCase {
    /// The case number ([`Runner::case`] rebuilds its input).
    pub index: u64,
    /// The seed it was made from.
    pub seed: String,
    /// The mutations applied.
    pub mutations: Vec<Mutation>,
    /// The mutated input's length.
    pub len: usize,
    /// What went wrong.
    pub problem: String,
}

/// The bounds seen for the cases of one seed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SeedStats {
    /// Cases made from this seed.
    pub cases: u64,
    /// The seed's own length.
    pub seed_len: usize,
    /// The largest peak allocation of its cases, as a multiple of their input's length.
    pub max_alloc_multiple: f64,
    /// The largest work of its cases, as a multiple of their input's length.
    pub max_work_multiple: f64,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Cases run.
    pub cases: u64,
    /// Cases the target accepted.
    pub accepted: u64,
    /// Cases rejected, by category.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Failed cases (at most the first 20 are kept; [`Report::failure_count`] counts all).
    pub failures: Vec<FailedCase>,
    /// Failed cases in all.
    pub failure_count: u64,
    /// The largest peak allocation seen, as a multiple of its input's length.
    pub max_alloc_multiple: f64,
    /// The largest peak allocation seen, in bytes.
    pub max_alloc_bytes: usize,
    /// The largest work seen, as a multiple of its input's length.
    pub max_work_multiple: f64,
    /// Whether allocations were measured ([`crate::CountingAllocator`] installed).
    pub allocation_measured: bool,
    /// The longest input tried.
    pub longest_input: usize,
    /// The same bounds per seed (small seeds show the fixed overhead, large ones the multiple).
    pub per_seed: BTreeMap<String, SeedStats>,
    /// Wall-clock time of the run (reported, never asserted).
    pub elapsed: Duration,
}

impl Report {
    /// Panics with the report and the first failures unless every case passed.
    pub fn assert_clean(&self) {
        if self.failure_count > 0 {
            let mut text = format!("{self}\n");
            for failure in &self.failures {
                text.push_str(&format!(
                    "case {} (seed {:?}, {} bytes): {}\n  mutations: {:?}\n",
                    failure.index, failure.seed, failure.len, failure.problem, failure.mutations
                ));
            }
            panic!("{text}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases in {:.1} s: {} accepted, rejected {:?}, {} failed; peak allocation at most {:.2}x the input ({} bytes){}, work at most {:.2}x the input, longest input {} bytes",
            self.cases,
            self.elapsed.as_secs_f64(),
            self.accepted,
            self.rejected,
            self.failure_count,
            self.max_alloc_multiple,
            self.max_alloc_bytes,
            if self.allocation_measured {
                ""
            } else {
                " (not measured: CountingAllocator is not the global allocator)"
            },
            self.max_work_multiple,
            self.longest_input
        )?;
        for (name, stats) in &self.per_seed {
            write!(
                f,
                "\n  seed {name:?} ({} bytes): {} cases, peak allocation at most {:.2}x, work at most {:.2}x",
                stats.seed_len, stats.cases, stats.max_alloc_multiple, stats.max_work_multiple
            )?;
        }
        Ok(())
    }
}

/// Runs seeded cases: case `i` takes seed `i mod seeds`, draws from the sub-stream `i` of the
/// run's seed, applies 1 to `max_mutations` mutations, reseals, and calls the target.
pub struct Runner {
    seed: u64,
    cases: u64,
    max_mutations: u64,
    limits: Limits,
    custom: Vec<(&'static str, Arc<CustomMutation>)>,
}

/// Failed cases kept in a report.
const KEPT_FAILURES: usize = 20;

impl Runner {
    /// A runner of `cases` cases from the run seed `seed`.
    pub fn new(seed: u64, cases: u64) -> Self {
        Runner {
            seed,
            cases,
            max_mutations: 4,
            limits: Limits::default(),
            custom: Vec::new(),
        }
    }

    /// Sets the bounds every case must keep.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the most mutations per case (at least 1).
    pub fn max_mutations(mut self, n: u64) -> Self {
        self.max_mutations = n.max(1);
        self
    }

    /// Adds a format-specific mutation (for example: replace a JSON block by a variant of it).
    pub fn custom(
        mut self,
        name: &'static str,
        f: impl Fn(&mut Vec<u8>, &mut SplitMix64) + Send + Sync + 'static,
    ) -> Self {
        self.custom.push((name, Arc::new(Box::new(f))));
        self
    }

    /// Case `index`: the seed's name, the mutated (not yet resealed) input and its mutations.
    pub fn case(&self, seeds: &[Seed], index: u64) -> Option<(String, Vec<u8>, Vec<Mutation>)> {
        let seed = seeds.get((index % seeds.len() as u64) as usize)?;
        let mut rng = SplitMix64::stream(self.seed, index);
        let count = rng.range(1, self.max_mutations) as usize;
        let mut bytes = seed.bytes.clone();
        let mutations =
            Mutator::new(rng)
                .with_custom(&self.custom)
                .mutate(&mut bytes, &seed.shape, count);
        Some((seed.name.clone(), bytes, mutations))
    }

    /// Runs every case. `reseal` repairs what the format protects (lengths, checksums);
    /// `target` parses an input and returns its outcome and the units of work it did, or a
    /// description of a broken invariant.
    pub fn run(
        &self,
        seeds: &[Seed],
        mut reseal: impl FnMut(&mut Vec<u8>),
        mut target: impl FnMut(&[u8]) -> Result<(Outcome, u64), String>,
    ) -> Report {
        let started = Instant::now();
        let mut report = Report::default();
        if seeds.is_empty() {
            return report;
        }
        for index in 0..self.cases {
            let Some((seed, mut bytes, mutations)) = self.case(seeds, index) else {
                break;
            };
            reseal(&mut bytes);
            let len = bytes.len();
            report.longest_input = report.longest_input.max(len);
            let run = catch_unwind(AssertUnwindSafe(|| measure(|| target(&bytes))));
            report.cases += 1;
            let seed_len = seeds
                .get((index % seeds.len() as u64) as usize)
                .map_or(0, |s| s.bytes.len());
            let stats = report.per_seed.entry(seed.clone()).or_insert(SeedStats {
                seed_len,
                ..SeedStats::default()
            });
            stats.cases += 1;
            if let Ok((result, usage)) = &run {
                let per_byte = |n: f64| n / len.max(1) as f64;
                stats.max_alloc_multiple =
                    stats.max_alloc_multiple.max(per_byte(usage.peak as f64));
                if let Ok((_, work)) = result {
                    stats.max_work_multiple = stats.max_work_multiple.max(per_byte(*work as f64));
                }
            }
            let problem = match run {
                Err(panic) => Some(format!("panicked: {}", panic_text(&panic))),
                Ok((result, usage)) => {
                    report.allocation_measured = usage.measured;
                    let per_byte = |n: f64| n / len.max(1) as f64;
                    report.max_alloc_multiple =
                        report.max_alloc_multiple.max(per_byte(usage.peak as f64));
                    report.max_alloc_bytes = report.max_alloc_bytes.max(usage.peak);
                    let alloc_limit =
                        self.limits.alloc_multiple * len as f64 + self.limits.alloc_slack as f64;
                    match result {
                        Err(broken) => Some(broken),
                        Ok(_) if usage.peak as f64 > alloc_limit => Some(format!(
                            "peak allocation {} bytes for a {len}-byte input (limit {alloc_limit:.0})",
                            usage.peak
                        )),
                        Ok((outcome, work)) => {
                            report.max_work_multiple =
                                report.max_work_multiple.max(per_byte(work as f64));
                            let work_limit = self.limits.work_multiple * len as f64
                                + self.limits.work_slack as f64;
                            match outcome {
                                _ if work as f64 > work_limit => Some(format!(
                                    "{work} units of work for a {len}-byte input (limit {work_limit:.0})"
                                )),
                                Outcome::Accepted => {
                                    report.accepted += 1;
                                    None
                                }
                                Outcome::Rejected(category) => {
                                    *report.rejected.entry(category).or_default() += 1;
                                    None
                                }
                            }
                        }
                    }
                }
            };
            if let Some(problem) = problem {
                report.failure_count += 1;
                if report.failures.len() < KEPT_FAILURES {
                    report.failures.push(FailedCase {
                        index,
                        seed,
                        mutations,
                        len,
                        problem,
                    });
                }
            }
        }
        report.elapsed = started.elapsed();
        report
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::{Field, Role, Width};

    fn seed() -> Seed {
        Seed::new(
            "four",
            vec![4, 0, 0, 0, 1, 2, 3, 4],
            Shape::default().field(Field::new("n", 0, Width::U32, Role::Count)),
        )
    }

    #[test]
    fn panics_and_broken_limits_are_failures_with_their_case() {
        let runner = Runner::new(3, 300);
        let report = runner.run(
            &[seed()],
            |_| {},
            |input| {
                let n =
                    u32::from_le_bytes(input.get(..4).ok_or("short")?.try_into().map_err(|_| "x")?);
                if n == 0 {
                    panic!("zero count");
                }
                Ok((Outcome::Accepted, u64::from(n)))
            },
        );
        assert_eq!(report.cases, 300);
        assert!(report.failure_count > 0);
        let failure = &report.failures[0];
        assert!(
            failure.problem.starts_with("panicked: zero count")
                || failure.problem.contains("units of work"),
            "{}",
            failure.problem
        );
        // The case rebuilds identically from its number.
        let (name, bytes, mutations) = runner.case(&[seed()], failure.index).unwrap();
        assert_eq!((name.as_str(), bytes.len()), ("four", failure.len));
        assert_eq!(mutations, failure.mutations);
        assert!(std::panic::catch_unwind(|| report.assert_clean()).is_err());
    }

    #[test]
    fn a_careful_target_passes() {
        let report = Runner::new(1, 500).run(
            &[seed()],
            |_| {},
            |input| {
                let n = input
                    .get(..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                match n {
                    Some(n) if n as usize == input.len().saturating_sub(4) => {
                        Ok((Outcome::Accepted, 1))
                    }
                    _ => Ok((Outcome::Rejected("format"), 1)),
                }
            },
        );
        report.assert_clean();
        assert_eq!(report.accepted + report.rejected.values().sum::<u64>(), 500);
        assert!(report.accepted > 0 && !report.rejected.is_empty());
    }
}

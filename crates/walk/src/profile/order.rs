//! Total orders of report rows and a bounded "best N" collection.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Orders `/`-separated relative paths component by component (the order of Rust `Path` on Unix):
/// `a/b` sorts before `a-c`.
pub(crate) fn cmp_paths(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// A row with a total order; `Less` ranks first (is kept first).
pub(crate) trait Ranked {
    fn rank(&self, other: &Self) -> Ordering;
}

impl Ranked for String {
    fn rank(&self, other: &Self) -> Ordering {
        cmp_paths(self, other)
    }
}

/// Heap entry whose maximum is the worst-ranked row.
struct Worst<T>(T);

impl<T: Ranked> PartialEq for Worst<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.rank(&other.0) == Ordering::Equal
    }
}
impl<T: Ranked> Eq for Worst<T> {}
impl<T: Ranked> PartialOrd for Worst<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Ranked> Ord for Worst<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank(&other.0)
    }
}

/// The best `limit` rows seen, by [`Ranked::rank`].
pub(crate) struct Best<T> {
    limit: usize,
    heap: BinaryHeap<Worst<T>>,
}

impl<T: Ranked> Best<T> {
    pub(crate) fn new(limit: usize) -> Self {
        Best {
            limit,
            heap: BinaryHeap::new(),
        }
    }

    /// Whether a row ranking like `probe` says could still enter: the collection is not full, or
    /// `probe(worst)` is `Less` or `Equal` (the caller builds the row only then).
    pub(crate) fn may_accept(&self, probe: impl FnOnce(&T) -> Ordering) -> bool {
        if self.limit == 0 {
            return false;
        }
        self.heap.len() < self.limit
            || self
                .heap
                .peek()
                .is_some_and(|w| probe(&w.0) != Ordering::Greater)
    }

    pub(crate) fn push(&mut self, row: T) {
        if self.limit == 0 {
            return;
        }
        if self.heap.len() < self.limit {
            self.heap.push(Worst(row));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if row.rank(&worst.0) == Ordering::Less {
                *worst = Worst(row);
            }
        }
    }

    /// Adds every row of `other`.
    pub(crate) fn absorb(&mut self, other: Best<T>) {
        for row in other.heap {
            self.push(row.0);
        }
    }

    /// The rows, best first.
    pub(crate) fn into_sorted(self) -> Vec<T> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compare_by_component() {
        assert_eq!(cmp_paths("a/b", "a-c"), Ordering::Less);
        assert_eq!(cmp_paths("a", "a/b"), Ordering::Less);
        assert_eq!(cmp_paths("dir1/hl1", "dir2/hl2"), Ordering::Less);
        assert_eq!(cmp_paths("B", "a"), Ordering::Less);
    }

    #[test]
    fn best_keeps_smallest() {
        let mut best = Best::new(3);
        for s in ["d", "a", "c", "e", "b"] {
            best.push(s.to_string());
        }
        assert!(best.may_accept(|w| cmp_paths("a0", w)));
        assert!(!best.may_accept(|w| cmp_paths("z", w)));
        assert_eq!(best.into_sorted(), ["a", "b", "c"]);
        let mut none = Best::<String>::new(0);
        none.push("a".into());
        assert!(none.into_sorted().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn path_order_is_rust_path_order(a in "[a-c./-]{1,3}(/[a-c.-]{1,3}){0,3}", b in "[a-c./-]{1,3}(/[a-c.-]{1,3}){0,3}") {
            use std::path::Path;
            // Path ignores "." components and orders ".." apart; neither occurs in relative paths of a walk
            let clean = |p: &str| p.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
            if clean(&a) && clean(&b) {
                proptest::prop_assert_eq!(cmp_paths(&a, &b), Path::new(&a).cmp(Path::new(&b)));
            }
        }
    }
}

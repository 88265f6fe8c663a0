//! SplitMix64 and the few distributions the generator draws from, using only IEEE add, multiply,
//! floor and exact powers of two, so that every platform draws bit-identical trees.
//!
//! Written here rather than taken from `rand`: the generator's output is a compatibility promise
//! (same seed, same tree on every platform and version), which a dependency's algorithms do not make.

/// The SplitMix64 generator (Steele, Lea, Flood 2014; constants from Vigna's reference code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// A generator for sub-stream `index` of `seed` (independent of how many values other streams drew).
    pub fn stream(seed: u64, index: u64) -> Self {
        let mut mixer = SplitMix64::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        SplitMix64::new(mixer.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Approximately standard normal (Irwin-Hall: sum of 12 uniforms - 6).
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    /// Log-normal size: `median * 2^(sigma_log2 * z)`, clamped to `max`.
    pub fn log_normal(&mut self, median: f64, sigma_log2: f64, max: u64) -> u64 {
        let v = median * exp2(sigma_log2 * self.normal());
        if v >= max as f64 { max } else { v as u64 }
    }

    /// One element of a non-empty slice (the first when empty is impossible to reach: callers pass constants).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// `2^x` from the integer part (exact) and a degree-4 polynomial for the fraction (error < 1e-4,
/// plenty for file sizes).
fn exp2(x: f64) -> f64 {
    let i = x.floor();
    let f = x - i;
    let p = 1.0
        + f * (std::f64::consts::LN_2
            + f * (0.240_226_506_959_100_7
                + f * (0.055_504_108_664_821_58 + f * 0.009_618_129_107_628_477)));
    p * 2f64.powi(i.clamp(-1000.0, 1000.0) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn distributions_stay_in_range() {
        let mut r = SplitMix64::new(42);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let v = r.range(3, 5);
            assert!((3..=5).contains(&v));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.log_normal(1024.0, 1.7, 1 << 20) <= 1 << 20);
        }
        assert_eq!(r.below(0), 0);
        assert!((exp2(10.0) - 1024.0).abs() < 1e-9);
        assert!((exp2(0.5) - std::f64::consts::SQRT_2).abs() < 1e-3);
    }

    #[test]
    fn log_normal_median_is_near_the_target() {
        let mut r = SplitMix64::new(7);
        let mut v: Vec<u64> = (0..20_001)
            .map(|_| r.log_normal(1024.0, 1.7, u64::MAX))
            .collect();
        v.sort_unstable();
        let median = v[10_000];
        assert!((900..1150).contains(&median), "median {median}");
    }
}

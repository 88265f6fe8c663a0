//! Validation of numbers coming from JavaScript, where every number is an `f64`.

use crate::runtime::error::NodeError;

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// An optional integer option in `min..=max`; `ERR_MODFORGE_INVALID_ARG` naming the option otherwise.
pub fn integer_option(
    name: &str,
    value: Option<f64>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, NodeError> {
    let Some(value) = value else { return Ok(None) };
    let in_range = value.fract() == 0.0 && value >= min as f64 && value <= max as f64;
    if !value.is_finite() || !in_range {
        return Err(NodeError::InvalidArg(format!(
            "option `{name}` must be an integer from {min} to {max}, got {value}"
        )));
    }
    Ok(Some(value as u64))
}

/// An optional byte count: a non-negative integer up to 2^53 - 1.
pub fn size_option(name: &str, value: Option<f64>) -> Result<Option<u64>, NodeError> {
    integer_option(name, value, 0, MAX_SAFE_INTEGER as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_integers_in_range() {
        assert_eq!(integer_option("n", Some(3.0), 0, 5).unwrap(), Some(3));
        assert_eq!(integer_option("n", None, 0, 5).unwrap(), None);
        assert_eq!(
            size_option("s", Some(MAX_SAFE_INTEGER)).unwrap(),
            Some(9_007_199_254_740_991)
        );
    }

    #[test]
    fn rejects_fractions_negatives_and_nan() {
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 6.0] {
            let err = integer_option("threads", Some(bad), 0, 5).unwrap_err();
            assert_eq!(err.code(), "ERR_MODFORGE_INVALID_ARG");
            assert!(err.message().contains("`threads`"), "{}", err.message());
        }
    }
}

//! Running parallel work on a pool of a chosen size.

use crate::error::Error;

/// Runs `work` on a rayon pool of `threads` workers (`None`: the global pool).
pub(crate) fn run<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> T + Send,
) -> Result<T, Error> {
    match threads {
        None => Ok(work()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| Error::Internal(format!("thread pool of {n} threads: {e}")))?;
            Ok(pool.install(work))
        }
    }
}

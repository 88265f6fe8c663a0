//! Source fingerprints (docs/store.md, "Fingerprints"): what a snapshot was built from.
//!
//! Every source is hashed through an explicit framing so that `["ab", "c"]` and `["a", "bc"]`
//! differ and the order in which files are listed does not matter.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3;

use crate::error::Error;

/// What a snapshot is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Bytes held by the caller.
    Bytes(Vec<u8>),
    /// Files on disk, identified by content (default) or by size and modification time.
    Files {
        /// The files; their order does not matter. Each path is hashed as given (UTF-8).
        paths: Vec<PathBuf>,
        /// How the files are fingerprinted.
        mode: FileMode,
    },
    /// A caller-chosen token (for example a build id) standing for the source.
    Token(String),
}

/// How [`Source::Files`] are fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileMode {
    /// XXH3-128 of path, size and content of every file (reads every byte).
    #[default]
    Content,
    /// XXH3-128 of path, size and modification time (ns) of every file: no reads, but blind to a
    /// rewrite of the same size within the file system's time granularity.
    Stat,
    /// SHA-256 of the same framing as [`FileMode::Content`].
    ContentSha256,
}

/// The hash algorithm stored in the header's fingerprint-algorithm byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FingerprintAlgorithm {
    /// XXH3-128 of content.
    Content = 1,
    /// XXH3-128 of a stat list.
    Stat = 2,
    /// XXH3-128 of a caller token.
    Token = 3,
    /// SHA-256 of content.
    ContentSha256 = 4,
}

impl FingerprintAlgorithm {
    /// The algorithm for a header byte, if it is one of the defined values.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Content),
            2 => Some(Self::Stat),
            3 => Some(Self::Token),
            4 => Some(Self::ContentSha256),
            _ => None,
        }
    }

    /// A short lower-case name (`content`, `stat`, `token`, `sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Stat => "stat",
            Self::Token => "token",
            Self::ContentSha256 => "sha256",
        }
    }
}

/// The fingerprint of a source: an algorithm and its 32-byte header field.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    algorithm: FingerprintAlgorithm,
    value: [u8; 32],
}

impl Fingerprint {
    /// The algorithm that produced this fingerprint.
    pub fn algorithm(&self) -> FingerprintAlgorithm {
        self.algorithm
    }

    /// The 32 bytes stored in the header (XXH3-128 as `u128` little-endian then zeros, or SHA-256).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.value
    }

    /// Rebuilds a fingerprint from its header fields.
    pub fn from_parts(algorithm: FingerprintAlgorithm, value: [u8; 32]) -> Self {
        Self { algorithm, value }
    }

    /// Canonical hex: an XXH3-128 digest high 64 bits first; a SHA-256 digest in byte order.
    pub fn to_hex(&self) -> String {
        hex_of_field(self.algorithm, &self.value)
    }
}

/// Canonical hex of a 32-byte fingerprint field for the given algorithm.
pub(crate) fn hex_of_field(algorithm: FingerprintAlgorithm, value: &[u8; 32]) -> String {
    match algorithm {
        FingerprintAlgorithm::ContentSha256 => value.iter().map(|b| format!("{b:02x}")).collect(),
        _ => {
            let mut low = [0u8; 16];
            low.copy_from_slice(&value[..16]);
            format!("{:032x}", u128::from_le_bytes(low))
        }
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Fingerprint({}:{})",
            self.algorithm.as_str(),
            self.to_hex()
        )
    }
}

/// Computes the fingerprint of a source (reads the files in content modes).
pub fn fingerprint(source: &Source) -> Result<Fingerprint, Error> {
    fingerprint_with_options(source, None)
}

/// Computes the fingerprint of a source followed by `u32 len ‖ options`: a payload's canonical
/// build options hashed this way make a changed option invalidate like a changed source.
pub fn fingerprint_with_options(
    source: &Source,
    options: Option<&[u8]>,
) -> Result<Fingerprint, Error> {
    let mut hasher = match source {
        Source::Bytes(_)
        | Source::Files {
            mode: FileMode::Content,
            ..
        } => Hasher::xxh3(FingerprintAlgorithm::Content),
        Source::Files {
            mode: FileMode::Stat,
            ..
        } => Hasher::xxh3(FingerprintAlgorithm::Stat),
        Source::Files {
            mode: FileMode::ContentSha256,
            ..
        } => Hasher::Sha256(Sha256::new()),
        Source::Token(_) => Hasher::xxh3(FingerprintAlgorithm::Token),
    };
    match source {
        Source::Bytes(bytes) => {
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        Source::Token(token) => hasher.update(token.as_bytes()),
        Source::Files { paths, mode } => hash_files(&mut hasher, paths, *mode)?,
    }
    if let Some(options) = options {
        let len = u32::try_from(options.len())
            .map_err(|_| Error::Limit("build options larger than 4 GiB".into()))?;
        hasher.update(&len.to_le_bytes());
        hasher.update(options);
    }
    Ok(hasher.finish())
}

/// Hashes the file framing (docs/store.md, "Fingerprints"), files sorted by the bytes of their
/// path strings.
fn hash_files(hasher: &mut Hasher, paths: &[PathBuf], mode: FileMode) -> Result<(), Error> {
    let mut named = paths
        .iter()
        .map(|p| {
            p.to_str().map(|s| (s, p)).ok_or_else(|| {
                Error::InvalidArgument(format!("source path is not UTF-8: {}", p.display()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    named.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut buf = vec![0u8; 64 * 1024];
    for (name, path) in named {
        let len = u32::try_from(name.len()).map_err(|_| {
            Error::InvalidArgument(format!("source path too long: {}", path.display()))
        })?;
        hasher.update(&len.to_le_bytes());
        hasher.update(name.as_bytes());
        match mode {
            FileMode::Stat => {
                let (size, mtime) = match std::fs::metadata(path) {
                    Ok(meta) => (meta.len(), mtime_ns(&meta)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (u64::MAX, 0),
                    Err(e) => return Err(Error::io("stat", path, e)),
                };
                hasher.update(&size.to_le_bytes());
                hasher.update(&mtime.to_le_bytes());
            }
            FileMode::Content | FileMode::ContentSha256 => {
                let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
                let size = file
                    .metadata()
                    .map_err(|e| Error::io("fstat", path, e))?
                    .len();
                hasher.update(&size.to_le_bytes());
                // Exactly `size` bytes are hashed so the framing stays self-consistent even if the
                // file grows meanwhile (a changed file then shows up as stale on the next open).
                let mut rest = size;
                while rest > 0 {
                    let want = usize::try_from(rest.min(buf.len() as u64)).unwrap_or(buf.len());
                    let got = file
                        .read(&mut buf[..want])
                        .map_err(|e| Error::io("read", path, e))?;
                    if got == 0 {
                        break;
                    }
                    hasher.update(&buf[..got]);
                    rest -= got as u64;
                }
            }
        }
    }
    Ok(())
}

/// Modification time in ns since the Unix epoch (negative before it, saturating).
fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    match meta.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos())
                .map(|n| -n)
                .unwrap_or(i64::MIN),
        },
        Err(_) => 0,
    }
}

/// A streaming hasher for either fingerprint family.
enum Hasher {
    Xxh3(Box<Xxh3>, FingerprintAlgorithm),
    Sha256(Sha256),
}

impl Hasher {
    fn xxh3(algorithm: FingerprintAlgorithm) -> Self {
        Hasher::Xxh3(Box::new(Xxh3::new()), algorithm)
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Xxh3(h, _) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    fn finish(self) -> Fingerprint {
        let mut value = [0u8; 32];
        match self {
            Hasher::Xxh3(h, algorithm) => {
                value[..16].copy_from_slice(&h.digest128().to_le_bytes());
                Fingerprint { algorithm, value }
            }
            Hasher::Sha256(h) => {
                value.copy_from_slice(&h.finalize());
                Fingerprint {
                    algorithm: FingerprintAlgorithm::ContentSha256,
                    value,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_bytes_vectors() {
        let t = fingerprint(&Source::Token("t".into())).unwrap();
        assert_eq!(t.to_hex(), "190e8fcdd645bb7c76033e85f0acf92d");
        assert_eq!(
            &t.as_bytes()[..16],
            &[
                0x2d, 0xf9, 0xac, 0xf0, 0x85, 0x3e, 0x03, 0x76, 0x7c, 0xbb, 0x45, 0xd6, 0xcd, 0x8f,
                0x0e, 0x19
            ]
        );
        assert_eq!(&t.as_bytes()[16..], &[0u8; 16]);
        assert_eq!(t.algorithm(), FingerprintAlgorithm::Token);
        let b = fingerprint(&Source::Bytes(b"hello".to_vec())).unwrap();
        assert_eq!(b.to_hex(), "e22eb3a21af2e1e3191230403feae166");
        assert_eq!(b.algorithm(), FingerprintAlgorithm::Content);
    }

    #[test]
    fn empty_input_digests() {
        assert_eq!(
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(b"")),
            "2d06800538d394c2"
        );
        assert_eq!(
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(b"")),
            "99aa06d3014798d86001c324468d497f"
        );
    }

    #[test]
    fn options_change_the_fingerprint() {
        let s = Source::Token("t".into());
        let plain = fingerprint(&s).unwrap();
        let a = fingerprint_with_options(&s, Some(b"{\"a\":1}")).unwrap();
        let b = fingerprint_with_options(&s, Some(b"{\"a\":2}")).unwrap();
        assert_ne!(plain, a);
        assert_ne!(a, b);
    }
}

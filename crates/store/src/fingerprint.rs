//! Source fingerprints (docs/store.md, "Fingerprints"): what a snapshot was built from.
//!
//! Every fingerprint hashes, in order: `u32 len ‖ domain` (the producer of the payload: `blob`
//! for the blob API whatever its kind, the payload kind for other producers such as datasets), a
//! tag byte naming the source form, the source's framing, and `u32 len ‖ options`. The domain
//! keeps a blob written with a chosen token from ever carrying a fingerprint a dataset expects;
//! the framings are length-prefixed so that `["ab", "c"]` and `["a", "bc"]` differ.
//!
//! Files are identified by a name and their content (or size and modification time), never by
//! the spelling of their path: the list is sorted by name, so its order does not matter, and a
//! folder of files copied elsewhere keeps its fingerprint. The name of a plain file list is the
//! file name (last path component); named sources (a dataset's tables) give their own names.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use modforge_core::Control;
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3;

use crate::error::Error;
use crate::file::{self, OpenFailure};

/// The fingerprint domain of every snapshot written through the blob API.
pub const BLOB_DOMAIN: &str = "blob";

/// Bytes read between two polls of the cancellation flag while hashing files.
const HASH_CHUNK: usize = 1 << 20;

/// What a snapshot is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Bytes held by the caller.
    Bytes(Vec<u8>),
    /// Files on disk, identified by their file name (last path component) and content (default)
    /// or size and modification time; neither the folder nor the order of the list matters.
    Files {
        /// The files.
        paths: Vec<PathBuf>,
        /// How the files are fingerprinted.
        mode: FileMode,
    },
    /// Files on disk identified by names the caller gives (a dataset's table names) and their
    /// content or stat; the paths themselves are not hashed.
    NamedFiles {
        /// `(name, path)` pairs; names must be unique.
        files: Vec<(String, PathBuf)>,
        /// How the files are fingerprinted.
        mode: FileMode,
    },
    /// A caller-chosen token (for example a build id) standing for the source.
    Token(String),
}

/// How file sources are fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileMode {
    /// XXH3-128 of name, size and content of every file (reads every byte).
    #[default]
    Content,
    /// XXH3-128 of name, size and modification time (ns) of every file: no reads, but blind to a
    /// rewrite of the same size within the file system's time granularity.
    Stat,
    /// SHA-256 of the same framing as [`FileMode::Content`], with SHA-256 digests per file.
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

/// Computes the fingerprint of a source in the blob domain (reads the files in content modes):
/// what the blob API stores, whatever the snapshot's kind.
pub fn fingerprint(source: &Source) -> Result<Fingerprint, Error> {
    fingerprint_in(BLOB_DOMAIN, source, &[], &Control::default())
}

/// Computes the fingerprint of a source in the blob domain followed by `u32 len ‖ options`: a
/// payload's canonical build options hashed this way make a changed option invalidate like a
/// changed source.
pub fn fingerprint_with_options(
    source: &Source,
    options: Option<&[u8]>,
) -> Result<Fingerprint, Error> {
    fingerprint_in(
        BLOB_DOMAIN,
        source,
        options.unwrap_or_default(),
        &Control::default(),
    )
}

/// Computes the fingerprint of `source` for the producer `domain` (a payload kind, or
/// [`BLOB_DOMAIN`]) with the producer's canonical build `options`, polling `control` between
/// chunks of the files read.
pub fn fingerprint_in(
    domain: &str,
    source: &Source,
    options: &[u8],
    control: &Control<'_>,
) -> Result<Fingerprint, Error> {
    let algorithm = match source {
        Source::Bytes(_) => FingerprintAlgorithm::Content,
        Source::Token(_) => FingerprintAlgorithm::Token,
        Source::Files { mode, .. } | Source::NamedFiles { mode, .. } => match mode {
            FileMode::Content => FingerprintAlgorithm::Content,
            FileMode::Stat => FingerprintAlgorithm::Stat,
            FileMode::ContentSha256 => FingerprintAlgorithm::ContentSha256,
        },
    };
    let mut hasher = Hasher::new(algorithm);
    hasher.update_framed32(domain.as_bytes())?;
    match source {
        Source::Bytes(bytes) => {
            hasher.update(b"B");
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        Source::Token(token) => {
            hasher.update(b"T");
            hasher.update(&(token.len() as u64).to_le_bytes());
            hasher.update(token.as_bytes());
        }
        Source::Files { paths, mode } => {
            hasher.update(b"F");
            let named = paths
                .iter()
                .map(|path| Ok((file_name_of(path)?, path.as_path())))
                .collect::<Result<Vec<_>, Error>>()?;
            hash_files(&mut hasher, named, *mode, control)?;
        }
        Source::NamedFiles { files, mode } => {
            hasher.update(b"N");
            let named = files
                .iter()
                .map(|(name, path)| (name.as_str(), path.as_path()))
                .collect();
            hash_files(&mut hasher, named, *mode, control)?;
        }
    }
    hasher.update_framed32(options)?;
    Ok(hasher.finish())
}

/// The file name (last component) that identifies a file of a plain file list.
fn file_name_of(path: &Path) -> Result<&str, Error> {
    let name = path.file_name().unwrap_or(path.as_os_str());
    name.to_str().ok_or_else(|| {
        Error::InvalidArgument(format!("source path is not UTF-8: {}", path.display()))
    })
}

/// What one file contributes: its size and a digest of its content, or its modification time.
struct FileEntry<'a> {
    name: &'a str,
    size: u64,
    digest: Vec<u8>,
}

/// Hashes `u64 count` then, for every file in the order of (name bytes, digest),
/// `u32 nameLen ‖ name ‖ u64 size ‖ digest` where the digest is the file's own XXH3-128
/// (`u128` LE) or SHA-256 of its content, or in stat mode its `i64 mtimeNs` (a missing file:
/// size `u64::MAX`, mtime 0).
fn hash_files(
    hasher: &mut Hasher,
    named: Vec<(&str, &Path)>,
    mode: FileMode,
    control: &Control<'_>,
) -> Result<(), Error> {
    let mut entries = Vec::with_capacity(named.len());
    for (name, path) in named {
        control.check()?;
        let (size, digest) = match mode {
            FileMode::Stat => match std::fs::metadata(path) {
                Ok(meta) => (meta.len(), mtime_ns(&meta).to_le_bytes().to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (u64::MAX, 0i64.to_le_bytes().to_vec())
                }
                Err(e) => return Err(Error::io("stat", path, e)),
            },
            FileMode::Content | FileMode::ContentSha256 => {
                content_digest(path, mode == FileMode::ContentSha256, control)?
            }
        };
        entries.push(FileEntry { name, size, digest });
    }
    entries.sort_by(|a, b| {
        a.name
            .as_bytes()
            .cmp(b.name.as_bytes())
            .then_with(|| a.digest.cmp(&b.digest))
    });
    hasher.update(&(entries.len() as u64).to_le_bytes());
    for entry in &entries {
        hasher.update_framed32(entry.name.as_bytes())?;
        hasher.update(&entry.size.to_le_bytes());
        hasher.update(&entry.digest);
    }
    Ok(())
}

/// The size of a regular file and the digest of exactly that many bytes of it (a file that grows
/// meanwhile shows up as stale on the next open).
fn content_digest(path: &Path, sha: bool, control: &Control<'_>) -> Result<(u64, Vec<u8>), Error> {
    let (file, size) = file::open_regular(path).map_err(|failure| match failure {
        OpenFailure::Io(e) => Error::io("open", path, e),
        other => other.into_error(path),
    })?;
    let mut digest = if sha {
        Hasher::Sha256(Sha256::new())
    } else {
        Hasher::new(FingerprintAlgorithm::Content)
    };
    let mut reader = file.take(size);
    let mut buf = vec![0u8; HASH_CHUNK];
    loop {
        control.check()?;
        let got = reader
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if got == 0 {
            break;
        }
        digest.update(buf.get(..got).unwrap_or_default());
    }
    Ok((size, digest.digest_bytes()))
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
    fn new(algorithm: FingerprintAlgorithm) -> Self {
        match algorithm {
            FingerprintAlgorithm::ContentSha256 => Hasher::Sha256(Sha256::new()),
            other => Hasher::Xxh3(Box::new(Xxh3::new()), other),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Xxh3(h, _) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    /// `u32 len ‖ bytes`.
    fn update_framed32(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(bytes.len()).map_err(|_| {
            Error::Limit("a fingerprinted name or option block is larger than 4 GiB".into())
        })?;
        self.update(&len.to_le_bytes());
        self.update(bytes);
        Ok(())
    }

    /// The digest alone: XXH3-128 as `u128` little-endian (16 bytes), or SHA-256 (32 bytes).
    fn digest_bytes(self) -> Vec<u8> {
        match self {
            Hasher::Xxh3(h, _) => h.digest128().to_le_bytes().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
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
        assert_eq!(t.algorithm(), FingerprintAlgorithm::Token);
        assert_eq!(&t.as_bytes()[16..], &[0u8; 16]);
        // u32 4 ‖ "blob" ‖ "T" ‖ u64 1 ‖ "t" ‖ u32 0
        let mut framed = Vec::new();
        framed.extend_from_slice(&4u32.to_le_bytes());
        framed.extend_from_slice(b"blobT");
        framed.extend_from_slice(&1u64.to_le_bytes());
        framed.extend_from_slice(b"t");
        framed.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            t.to_hex(),
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&framed))
        );
        let b = fingerprint(&Source::Bytes(b"hello".to_vec())).unwrap();
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

    #[test]
    fn a_chosen_token_never_reproduces_another_domain() {
        // A dataset's fingerprint: token T, options O. A blob written with the token T ‖ O (or
        // any framing of it) must not carry the same fingerprint.
        let none = Control::default();
        let dataset = fingerprint_in(
            "modforge.dataset@1",
            &Source::Token("T".into()),
            b"O",
            &none,
        )
        .unwrap();
        for token in ["T", "TO", "T\u{1}\0\0\0O"] {
            assert_ne!(fingerprint(&Source::Token(token.into())).unwrap(), dataset);
            assert_ne!(
                fingerprint_in(
                    "modforge.dataset@1",
                    &Source::Token(token.into()),
                    b"",
                    &none
                )
                .unwrap(),
                dataset
            );
        }
        let blob_domain = fingerprint_in(BLOB_DOMAIN, &Source::Token("T".into()), b"O", &none);
        assert_ne!(blob_domain.unwrap(), dataset);
    }
}

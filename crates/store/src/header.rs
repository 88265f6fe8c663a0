//! The fixed 192-byte snapshot header (docs/store.md, "Snapshot file layout") and the load checks
//! 0b–7 (docs/store.md, "Load checks").

use modforge_core::Control;
use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_128};
use zerocopy::little_endian::{U16, U32, U64, U128};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::Error;
use crate::fingerprint::{Fingerprint, FingerprintAlgorithm};
use crate::reason::{Reason, ReasonCode, Refusal};

/// The magic bytes `\x89MFS\r\n\x1a\n` (high bit, CRLF and ^Z catch text-mode mangling).
pub const MAGIC: [u8; 8] = [0x89, b'M', b'F', b'S', b'\r', b'\n', 0x1a, b'\n'];
/// The container version this crate writes and reads.
pub const CONTAINER_VERSION: u16 = 1;
/// Header length of container version 1; the payload starts here.
pub const HEADER_LEN: usize = 192;
/// Longest kind string, in bytes.
pub const MAX_KIND_LEN: usize = 32;
/// Longest data version string, in bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// Payload bytes hashed between two polls of the cancellation flag.
const CHECKSUM_CHUNK: usize = 4 << 20;

/// Byte offsets of the header fields, used in reasons.
pub(crate) mod offset {
    pub const CONTAINER_VERSION: u64 = 8;
    pub const KIND: u64 = 16;
    pub const VERSION: u64 = 48;
    pub const FINGERPRINT_ALGORITHM: u64 = 112;
    pub const RESERVED: u64 = 113;
    pub const FINGERPRINT: u64 = 120;
    pub const PAYLOAD_LEN: u64 = 152;
    pub const HEADER_CHECKSUM: u64 = 184;
    pub const FLAGS: u64 = 12;
}

/// The on-disk layout, little-endian, alignment 1.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawHeader {
    magic: [u8; 8],
    container_version: U16,
    header_len: U16,
    flags: U32,
    kind: [u8; MAX_KIND_LEN],
    version: [u8; MAX_VERSION_LEN],
    fingerprint_algorithm: u8,
    reserved: [u8; 7],
    fingerprint: [u8; 32],
    payload_len: U64,
    payload_checksum: U128,
    created: U64,
    header_checksum: U64,
}

const _: () = assert!(size_of::<RawHeader>() == HEADER_LEN);

/// The decoded header of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Container version (1).
    pub container_version: u16,
    /// Header length (192).
    pub header_len: u16,
    /// Reserved flags (0).
    pub flags: u32,
    /// Payload kind, e.g. `modforge.dataset@1` (non-ASCII bytes shown as U+FFFD).
    pub kind: String,
    /// Data version (invalid UTF-8 shown as U+FFFD).
    pub version: String,
    /// Raw fingerprint-algorithm byte (1–4 are defined).
    pub fingerprint_algorithm: u8,
    /// The 32-byte fingerprint field.
    pub fingerprint: [u8; 32],
    /// Payload length in bytes.
    pub payload_len: u64,
    /// XXH3-128 of the payload.
    pub payload_checksum: u128,
    /// Creation time, Unix ns (informational).
    pub created_ns: u64,
    /// XXH3-64 of bytes 0..184.
    pub header_checksum: u64,
}

impl Header {
    /// Decodes the header fields of `bytes` without judging them (for inspection).
    /// Fails only when fewer than 192 bytes are given.
    pub fn decode(bytes: &[u8]) -> Option<Header> {
        let (raw, _) = RawHeader::ref_from_prefix(bytes).ok()?;
        Some(Header {
            container_version: raw.container_version.get(),
            header_len: raw.header_len.get(),
            flags: raw.flags.get(),
            kind: String::from_utf8_lossy(trim_nul(&raw.kind)).into_owned(),
            version: String::from_utf8_lossy(trim_nul(&raw.version)).into_owned(),
            fingerprint_algorithm: raw.fingerprint_algorithm,
            fingerprint: raw.fingerprint,
            payload_len: raw.payload_len.get(),
            payload_checksum: raw.payload_checksum.get(),
            created_ns: raw.created.get(),
            header_checksum: raw.header_checksum.get(),
        })
    }

    /// The fingerprint, if the algorithm byte is a defined one.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        FingerprintAlgorithm::from_byte(self.fingerprint_algorithm)
            .map(|a| Fingerprint::from_parts(a, self.fingerprint))
    }
}

fn trim_nul(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// Checks a kind string: 1–32 bytes of `[a-z0-9._@/-]`.
pub fn validate_kind(kind: &str) -> Result<(), Error> {
    let ok = !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@/-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "kind {kind:?} must be 1-32 characters of [a-z0-9._@/-]"
        )))
    }
}

/// Checks a data version: 1–64 bytes of UTF-8 without NUL and without U+FFFD (the character a
/// lone surrogate of a JavaScript string becomes, which would make two versions one).
pub fn validate_version(version: &str) -> Result<(), Error> {
    if version.is_empty()
        || version.len() > MAX_VERSION_LEN
        || version.contains('\0')
        || version.contains(char::REPLACEMENT_CHARACTER)
    {
        return Err(Error::InvalidArgument(format!(
            "version {version:?} must be 1-64 bytes of UTF-8 without NUL or U+FFFD"
        )));
    }
    Ok(())
}

fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut field = [0u8; N];
    let len = text.len().min(N);
    field[..len].copy_from_slice(&text.as_bytes()[..len]);
    field
}

/// Encodes the header of a payload. `kind` and `version` must have been validated
/// ([`validate_kind`], [`validate_version`]).
pub fn encode(
    kind: &str,
    version: &str,
    fingerprint: &Fingerprint,
    payload: &[u8],
    created_ns: u64,
) -> [u8; HEADER_LEN] {
    let mut raw = RawHeader {
        magic: MAGIC,
        container_version: U16::new(CONTAINER_VERSION),
        header_len: U16::new(HEADER_LEN as u16),
        flags: U32::new(0),
        kind: padded(kind),
        version: padded(version),
        fingerprint_algorithm: fingerprint.algorithm() as u8,
        reserved: [0; 7],
        fingerprint: *fingerprint.as_bytes(),
        payload_len: U64::new(payload.len() as u64),
        payload_checksum: U128::new(xxh3_128(payload)),
        created: U64::new(created_ns),
        header_checksum: U64::new(0),
    };
    let sum = xxh3_64(&raw.as_bytes()[..offset::HEADER_CHECKSUM as usize]);
    raw.header_checksum = U64::new(sum);
    let mut out = [0u8; HEADER_LEN];
    out.copy_from_slice(raw.as_bytes());
    out
}

/// What a reader expects of a snapshot (the load checks of docs/store.md, "Load checks").
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The payload kind.
    pub kind: &'a str,
    /// The data version; `None` skips the version check (a version stored inside the payload).
    pub version: Option<&'a str>,
    /// The fingerprint of the current source.
    pub fingerprint: &'a Fingerprint,
}

/// Runs checks 0b–7 (docs/store.md, "Load checks") on a whole file image, in order. Check 8
/// belongs to the payload's reader.
pub fn check(image: &[u8], expect: &Expect<'_>) -> Result<Header, Reason> {
    let wanted = Wanted {
        kind: expect.kind,
        version: expect.version,
        fingerprint: Some(expect.fingerprint),
        payload_checksum: true,
    };
    match check_wanted(image, &wanted, &Control::default()) {
        Ok(header) => Ok(header),
        Err(Refusal::Rejected(reason)) => Err(reason),
        // Without a cancellation flag nothing can abort.
        Err(Refusal::Aborted) => Err(Reason::new(ReasonCode::Corrupt, "aborted")),
    }
}

/// What a load expects of a header; `None` skips that check (a shipped file opened by path has
/// no source to compare; a version taken from the payload has no expected value).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted<'a> {
    pub kind: &'a str,
    pub version: Option<&'a str>,
    pub fingerprint: Option<&'a Fingerprint>,
    /// False defers the payload checksum of check 7 to [`check_payload`] (every other check
    /// still runs; see `LoadOptions::defer_payload_check`).
    pub payload_checksum: bool,
}

/// The load checks of docs/store.md ("Load checks") in order, polling `control` while the
/// payload checksum is computed.
pub(crate) fn check_wanted(
    image: &[u8],
    wanted: &Wanted<'_>,
    control: &Control<'_>,
) -> Result<Header, Refusal> {
    let size = image.len() as u64;
    let Some((raw, _)) = RawHeader::ref_from_prefix(image).ok() else {
        return Err(Reason::corrupt(
            size,
            format!("file is {size} bytes, shorter than the {HEADER_LEN}-byte header"),
        )
        .into());
    };
    if raw.magic != MAGIC {
        return Err(Reason::corrupt(0, "bad magic: not a modforge snapshot").into());
    }
    if raw.container_version.get() != CONTAINER_VERSION
        || usize::from(raw.header_len.get()) != HEADER_LEN
    {
        return Err(Reason::at(
            ReasonCode::Version,
            offset::CONTAINER_VERSION,
            format!(
                "container version {} with header length {} (expected {CONTAINER_VERSION} and {HEADER_LEN})",
                raw.container_version.get(),
                raw.header_len.get()
            ),
        )
        .into());
    }
    if raw.kind != padded::<MAX_KIND_LEN>(wanted.kind) {
        return Err(Reason::at(
            ReasonCode::Kind,
            offset::KIND,
            format!(
                "kind {:?} (expected {:?})",
                String::from_utf8_lossy(trim_nul(&raw.kind)),
                wanted.kind
            ),
        )
        .into());
    }
    if let Some(version) = wanted.version {
        if raw.version != padded::<MAX_VERSION_LEN>(version) {
            return Err(Reason::at(
                ReasonCode::Version,
                offset::VERSION,
                format!(
                    "data version {:?} (expected {version:?})",
                    String::from_utf8_lossy(trim_nul(&raw.version))
                ),
            )
            .into());
        }
    }
    if let Some(fingerprint) = wanted.fingerprint {
        check_fingerprint(raw, fingerprint)?;
    } else if FingerprintAlgorithm::from_byte(raw.fingerprint_algorithm).is_none() {
        return Err(Reason::corrupt(
            offset::FINGERPRINT_ALGORITHM,
            format!(
                "unknown fingerprint algorithm {}",
                raw.fingerprint_algorithm
            ),
        )
        .into());
    }
    check_integrity(image, raw, wanted.payload_checksum, control)
}

/// The payload checksum of check 7 alone, for an image whose other checks already passed (a
/// load that deferred it), polling `control` between chunks.
pub(crate) fn check_payload(
    image: &[u8],
    header: &Header,
    control: &Control<'_>,
) -> Result<(), Refusal> {
    let payload = image.get(HEADER_LEN..).unwrap_or_default();
    if checksum(payload, control)? != header.payload_checksum {
        return Err(Reason::corrupt(HEADER_LEN as u64, "payload checksum mismatch").into());
    }
    Ok(())
}

/// Check 5: the stored fingerprint is the current source's.
fn check_fingerprint(raw: &RawHeader, expected: &Fingerprint) -> Result<(), Reason> {
    if raw.fingerprint_algorithm != expected.algorithm() as u8 {
        return Err(Reason::at(
            ReasonCode::Stale,
            offset::FINGERPRINT_ALGORITHM,
            format!(
                "fingerprint algorithm {} (expected {})",
                raw.fingerprint_algorithm,
                expected.algorithm() as u8
            ),
        ));
    }
    if &raw.fingerprint != expected.as_bytes() {
        let found = FingerprintAlgorithm::from_byte(raw.fingerprint_algorithm)
            .map(|a| crate::fingerprint::hex_of_field(a, &raw.fingerprint))
            .unwrap_or_default();
        return Err(Reason::at(
            ReasonCode::Stale,
            offset::FINGERPRINT,
            format!(
                "source fingerprint {found} (current source {})",
                expected.to_hex()
            ),
        ));
    }
    Ok(())
}

/// XXH3-128 of `bytes`, polling `control` between chunks.
fn checksum(bytes: &[u8], control: &Control<'_>) -> Result<u128, Refusal> {
    if bytes.len() <= CHECKSUM_CHUNK {
        return Ok(xxh3_128(bytes));
    }
    let mut hasher = Xxh3::new();
    for chunk in bytes.chunks(CHECKSUM_CHUNK) {
        control.check()?;
        hasher.update(chunk);
    }
    Ok(hasher.digest128())
}

/// Checks 6 and 7 (size, header checksum, payload checksum unless `payload_checksum` is false)
/// plus the reserved fields (docs/store.md, "Load checks"); shared by loading and by inspection.
fn check_integrity(
    image: &[u8],
    raw: &RawHeader,
    payload_checksum: bool,
    control: &Control<'_>,
) -> Result<Header, Refusal> {
    let size = image.len() as u64;
    let payload_len = raw.payload_len.get();
    if Some(size) != payload_len.checked_add(HEADER_LEN as u64) {
        return Err(Reason::corrupt(
            offset::PAYLOAD_LEN,
            format!("file is {size} bytes but the header promises {HEADER_LEN} + {payload_len}"),
        )
        .into());
    }
    let header_bytes = &image[..HEADER_LEN];
    let sum = xxh3_64(&header_bytes[..offset::HEADER_CHECKSUM as usize]);
    if sum != raw.header_checksum.get() {
        return Err(Reason::corrupt(offset::HEADER_CHECKSUM, "header checksum mismatch").into());
    }
    if payload_checksum && checksum(&image[HEADER_LEN..], control)? != raw.payload_checksum.get() {
        return Err(Reason::corrupt(HEADER_LEN as u64, "payload checksum mismatch").into());
    }
    if raw.flags.get() != 0 {
        return Err(Reason::corrupt(offset::FLAGS, "reserved flags are not zero").into());
    }
    if raw.reserved != [0; 7] {
        return Err(Reason::corrupt(offset::RESERVED, "reserved header bytes are not zero").into());
    }
    let version = trim_nul(&raw.version);
    let version_ok = !version.is_empty()
        && raw.version[version.len()..].iter().all(|&b| b == 0)
        && std::str::from_utf8(version).is_ok();
    if !version_ok {
        return Err(Reason::corrupt(
            offset::VERSION,
            "data version field is not 1-64 bytes of NUL-padded UTF-8",
        )
        .into());
    }
    Header::decode(image).ok_or_else(|| Reason::corrupt(size, "short header").into())
}

/// Named check outcomes, in the order they ran.
pub(crate) type NamedChecks = Vec<(&'static str, Result<(), Reason>)>;

/// Runs the checks that need no expectation (0b, 1, 2, 6, 7) for inspection tools (docs/store.md,
/// "Inspection").
pub(crate) fn check_standalone(
    image: &[u8],
    control: &Control<'_>,
) -> Result<NamedChecks, modforge_core::Aborted> {
    let mut out = Vec::new();
    let size = image.len() as u64;
    let Some((raw, _)) = RawHeader::ref_from_prefix(image).ok() else {
        out.push((
            "size",
            Err(Reason::corrupt(
                size,
                format!("file is {size} bytes, shorter than the header"),
            )),
        ));
        return Ok(out);
    };
    out.push(("size", Ok(())));
    let magic = if raw.magic == MAGIC {
        Ok(())
    } else {
        Err(Reason::corrupt(0, "bad magic"))
    };
    let magic_ok = magic.is_ok();
    out.push(("magic", magic));
    if !magic_ok {
        return Ok(out);
    }
    let version = if raw.container_version.get() == CONTAINER_VERSION
        && usize::from(raw.header_len.get()) == HEADER_LEN
    {
        Ok(())
    } else {
        Err(Reason::at(
            ReasonCode::Version,
            offset::CONTAINER_VERSION,
            "unsupported container version",
        ))
    };
    let version_ok = version.is_ok();
    out.push(("container version", version));
    if !version_ok {
        return Ok(out);
    }
    let algorithm = if FingerprintAlgorithm::from_byte(raw.fingerprint_algorithm).is_some() {
        Ok(())
    } else {
        Err(Reason::corrupt(
            offset::FINGERPRINT_ALGORITHM,
            "unknown fingerprint algorithm",
        ))
    };
    out.push(("fingerprint algorithm", algorithm));
    let integrity = match check_integrity(image, raw, true, control) {
        Ok(_) => Ok(()),
        Err(Refusal::Rejected(reason)) => Err(reason),
        Err(Refusal::Aborted) => return Err(modforge_core::Aborted),
    };
    out.push(("integrity", integrity));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Source, fingerprint};

    fn golden() -> Vec<u8> {
        let fp = fingerprint(&Source::Token("t".into())).unwrap();
        let mut image = encode("blob", "1", &fp, b"hello", 0).to_vec();
        image.extend_from_slice(b"hello");
        image
    }

    #[test]
    fn golden_header_fields() {
        let image = golden();
        assert_eq!(image.len(), 197);
        let h = Header::decode(&image).unwrap();
        assert_eq!(
            format!("{:032x}", h.payload_checksum),
            "b5e9c1ad071b3e7fc779cfaa5e523818"
        );
        assert_eq!(format!("{:016x}", h.header_checksum), "650c519cda846ff1");
        assert_eq!(
            &image[120..136],
            &[
                0x9d, 0x30, 0x95, 0xea, 0xff, 0xc6, 0xed, 0xe7, 0x0e, 0xa2, 0x49, 0x6b, 0x75, 0x2c,
                0x5d, 0x2f
            ]
        );
        assert_eq!(&image[..8], &MAGIC);
        assert_eq!(image[112], 3);
    }

    #[test]
    fn checks_in_order() {
        let image = golden();
        let fp = fingerprint(&Source::Token("t".into())).unwrap();
        let ok = Expect {
            kind: "blob",
            version: Some("1"),
            fingerprint: &fp,
        };
        assert!(check(&image, &ok).is_ok());
        let kind = Expect {
            kind: "other",
            ..ok
        };
        assert_eq!(check(&image, &kind).unwrap_err().code, ReasonCode::Kind);
        let version = Expect {
            version: Some("2"),
            ..ok
        };
        assert_eq!(
            check(&image, &version).unwrap_err().code,
            ReasonCode::Version
        );
        let skip_version = Expect {
            version: None,
            ..ok
        };
        assert!(check(&image, &skip_version).is_ok());
        let other = fingerprint(&Source::Token("u".into())).unwrap();
        let stale = Expect {
            fingerprint: &other,
            ..ok
        };
        assert_eq!(check(&image, &stale).unwrap_err().code, ReasonCode::Stale);
        let mut v2 = image.clone();
        v2[8] = 2;
        assert_eq!(check(&v2, &ok).unwrap_err().code, ReasonCode::Version);
        let mut longer = image.clone();
        longer.push(0);
        assert_eq!(check(&longer, &ok).unwrap_err().code, ReasonCode::Corrupt);
        assert_eq!(
            check(&image[..192], &ok).unwrap_err().code,
            ReasonCode::Corrupt
        );
        assert_eq!(check(&[], &ok).unwrap_err().code, ReasonCode::Corrupt);
    }

    #[test]
    fn kind_and_version_rules() {
        assert!(validate_kind("modforge.dataset@1").is_ok());
        assert!(validate_kind("a/b-c_d").is_ok());
        assert!(validate_kind("a b").is_err());
        assert!(validate_kind("Blob").is_err());
        assert!(validate_kind("").is_err());
        assert!(validate_kind(&"a".repeat(33)).is_err());
        assert!(validate_version(&"é".repeat(32)).is_ok());
        assert!(validate_version(&"a".repeat(65)).is_err());
        assert!(validate_version("a\0b").is_err());
        assert!(validate_version("").is_err());
    }
}

//! Resource keys: a resref (lower-cased ASCII, at most 32 bytes) and an NWN2 type id
//! (docs/icons.md, "Resource keys and type ids").

use std::cmp::Ordering;
use std::fmt;

/// Longest resref NWN2 allows, in bytes.
pub const MAX_RESREF: usize = 32;

/// An NWN2 resource type id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResType(pub u16);

/// Type ids and their extensions (docs/icons.md, "Resource keys and type ids"). `png` = 2110 is
/// the NWN:EE value; NWN2 itself has no PNG type.
const TYPES: &[(u16, &str)] = &[
    (0, "res"),
    (1, "bmp"),
    (3, "tga"),
    (4, "wav"),
    (6, "plt"),
    (7, "ini"),
    (10, "txt"),
    (2002, "mdl"),
    (2009, "nss"),
    (2010, "ncs"),
    (2011, "mod"),
    (2012, "are"),
    (2014, "ifo"),
    (2015, "bic"),
    (2017, "2da"),
    (2018, "tlk"),
    (2022, "txi"),
    (2023, "git"),
    (2025, "uti"),
    (2027, "utc"),
    (2029, "dlg"),
    (2030, "itp"),
    (2033, "dds"),
    (2038, "fac"),
    (2046, "gic"),
    (2047, "gui"),
    (2056, "jrl"),
    (2057, "sav"),
    (2061, "hak"),
    (2062, "nwm"),
    (2110, "png"),
    (3002, "trn"),
    (3006, "sef"),
    (3007, "pfx"),
    (3016, "zip"),
    (3017, "wmp"),
    (3021, "xml"),
    (3035, "trx"),
    (4000, "mdb"),
    (4001, "mda"),
    (4002, "spt"),
    (4003, "gr2"),
    (4004, "fxa"),
    (4005, "fxe"),
    (4007, "jpg"),
    (4008, "pwc"),
    (9997, "erf"),
    (9998, "bif"),
    (9999, "key"),
];

impl ResType {
    /// Targa image.
    pub const TGA: ResType = ResType(3);
    /// Palette texture (NWN1 armour; indexed, not decoded).
    pub const PLT: ResType = ResType(6);
    /// Plain text.
    pub const TXT: ResType = ResType(10);
    /// Module info (GFF).
    pub const IFO: ResType = ResType(2014);
    /// DirectDraw surface.
    pub const DDS: ResType = ResType(2033);
    /// Module journal (GFF).
    pub const JRL: ResType = ResType(2056);
    /// PNG image (the NWN:EE id, used for loose and zipped PNGs).
    pub const PNG: ResType = ResType(2110);

    /// The type of a file extension (any case, without the dot); `None` for extensions NWN2
    /// does not define (such files are not indexed).
    pub fn from_extension(ext: &str) -> Option<ResType> {
        TYPES
            .iter()
            .find(|(_, e)| e.eq_ignore_ascii_case(ext))
            .map(|&(id, _)| ResType(id))
    }

    /// The extension of a known type id, lower-case.
    pub fn extension(self) -> Option<&'static str> {
        TYPES.iter().find(|&&(id, _)| id == self.0).map(|&(_, e)| e)
    }

    /// Whether the icon pipeline can decode this type (DDS, TGA, PNG).
    pub fn is_image(self) -> bool {
        matches!(self, ResType::DDS | ResType::TGA | ResType::PNG)
    }
}

impl fmt::Display for ResType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.extension() {
            Some(ext) => f.write_str(ext),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// Why a name is not a usable resref.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// Empty (or only NUL bytes).
    Empty,
    /// Longer than [`MAX_RESREF`] bytes; carries the length.
    TooLong(usize),
    /// A byte outside printable ASCII.
    NotAscii,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => f.write_str("empty name"),
            NameProblem::TooLong(n) => write!(f, "name of {n} bytes (at most {MAX_RESREF})"),
            NameProblem::NotAscii => f.write_str("name with bytes outside printable ASCII"),
        }
    }
}

/// A resref: 1 to 32 bytes of printable ASCII, lower-cased. Compared and hashed by its bytes.
#[derive(Clone, Copy, Eq)]
pub struct ResRef {
    len: u8,
    bytes: [u8; MAX_RESREF],
}

impl ResRef {
    /// A resref from raw bytes (a file stem, an archive key without its NUL padding);
    /// upper-case ASCII is lower-cased.
    pub fn new(name: &[u8]) -> Result<ResRef, NameProblem> {
        if name.is_empty() {
            return Err(NameProblem::Empty);
        }
        if name.len() > MAX_RESREF {
            return Err(NameProblem::TooLong(name.len()));
        }
        let mut bytes = [0u8; MAX_RESREF];
        for (out, &b) in bytes.iter_mut().zip(name) {
            if !(0x20..0x7F).contains(&b) {
                return Err(NameProblem::NotAscii);
            }
            *out = b.to_ascii_lowercase();
        }
        Ok(ResRef {
            len: name.len() as u8,
            bytes,
        })
    }

    /// A resref from a fixed, NUL-padded archive field: the bytes up to the first NUL (the
    /// whole field when it has none).
    pub fn from_padded(field: &[u8]) -> Result<ResRef, NameProblem> {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        ResRef::new(field.get(..end).unwrap_or_default())
    }

    /// The lower-cased bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The resref as text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl PartialEq for ResRef {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::hash::Hash for ResRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Ord for ResRef {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for ResRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for ResRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResRef({:?})", self.as_str())
    }
}

impl fmt::Display for ResRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource key: resref and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResKey {
    /// The resref.
    pub resref: ResRef,
    /// The type id.
    pub res_type: ResType,
}

/// Splits a file name into stem and extension at its last dot (`"a.b.tga"` -> `("a.b", Some("tga"))`,
/// `"noext"` -> `("noext", None)`; a leading dot is part of the stem).
pub fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

/// A query name: `is_x` or `is_x.tga` (any case). The extension, when present, must be a known
/// type; an unknown one is treated as part of the resref.
pub fn parse_query(name: &str) -> Result<(ResRef, Option<ResType>), NameProblem> {
    let (stem, ext) = split_name(name);
    if let Some(ty) = ext.and_then(ResType::from_extension) {
        return Ok((ResRef::new(stem.as_bytes())?, Some(ty)));
    }
    Ok((ResRef::new(name.as_bytes())?, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resrefs_are_lower_cased_and_bounded() {
        let r = ResRef::new(b"IS_FireBall").unwrap();
        assert_eq!(r.as_str(), "is_fireball");
        assert_eq!(r, ResRef::new(b"is_fireball").unwrap());
        let long = "moduledownloaderresources";
        assert_eq!(ResRef::new(long.as_bytes()).unwrap().as_str(), long);
        assert_eq!(ResRef::new(&[b'a'; 32]).unwrap().as_bytes().len(), 32);
        assert_eq!(ResRef::new(&[b'a'; 33]), Err(NameProblem::TooLong(33)));
        assert_eq!(ResRef::new(b""), Err(NameProblem::Empty));
        assert_eq!(ResRef::new("é".as_bytes()), Err(NameProblem::NotAscii));
        assert_eq!(ResRef::new(b"a\0b"), Err(NameProblem::NotAscii));
        assert_eq!(
            ResRef::from_padded(b"build\0\0\0\0\0\0\0\0\0\0\0")
                .unwrap()
                .as_str(),
            "build"
        );
        assert_eq!(ResRef::from_padded(&[0u8; 16]), Err(NameProblem::Empty));
        assert!(ResRef::new(b"a").unwrap() < ResRef::new(b"ab").unwrap());
    }

    #[test]
    fn types_and_extensions() {
        assert_eq!(ResType::from_extension("TGA"), Some(ResType::TGA));
        assert_eq!(ResType::from_extension("dds"), Some(ResType(2033)));
        assert_eq!(ResType::from_extension("png"), Some(ResType(2110)));
        assert_eq!(ResType::from_extension("xml"), Some(ResType(3021)));
        assert_eq!(ResType::from_extension("mdb"), Some(ResType(4000)));
        assert_eq!(ResType::from_extension("jpg"), Some(ResType(4007)));
        assert_eq!(ResType::from_extension("psd"), None);
        assert_eq!(ResType(3005).extension(), None);
        assert_eq!(ResType(2014).to_string(), "ifo");
        assert_eq!(ResType(55555).to_string(), "type 55555");
        assert!(ResType::DDS.is_image() && !ResType::PLT.is_image());
    }

    #[test]
    fn names_split_at_the_last_dot() {
        assert_eq!(split_name("a.b.tga"), ("a.b", Some("tga")));
        assert_eq!(split_name("noext"), ("noext", None));
        assert_eq!(split_name(".hidden"), (".hidden", None));
        let (r, t) = parse_query("IS_X.TGA").unwrap();
        assert_eq!((r.as_str(), t), ("is_x", Some(ResType::TGA)));
        let (r, t) = parse_query("is_x.webp").unwrap();
        assert_eq!((r.as_str(), t), ("is_x.webp", None));
    }
}

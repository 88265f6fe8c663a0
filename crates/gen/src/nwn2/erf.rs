//! An ERF-family writer (ERF, HAK, MOD; V1.0 and V1.1) for generated test data, with the knobs
//! the reader's edge cases need: table placement, localized strings, ResIDs, a garbage
//! DescriptionStrRef.

/// One resource to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErfResource {
    /// Resref bytes as stored (any case; at most 16 or 32 bytes by version).
    pub name: Vec<u8>,
    /// Type id.
    pub res_type: u16,
    /// The data.
    pub data: Vec<u8>,
}

/// How to write an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErfOptions {
    /// FileType, e.g. `*b"HAK "`.
    pub file_type: [u8; 4],
    /// `true`: `V1.1` with 40-byte keys (32-byte resrefs); `false`: `V1.0` with 24-byte keys.
    pub v11: bool,
    /// V1.1 with 24-byte keys (NWN1 premium modules).
    pub v11_short_keys: bool,
    /// Localized strings: (language id, bytes).
    pub localized: Vec<(u32, Vec<u8>)>,
    /// Put the key and resource lists after the data (tables may sit anywhere).
    pub tables_after_data: bool,
    /// Zero bytes between the key list and the resource list.
    pub key_padding: u32,
    /// DescriptionStrRef (real files hold garbage such as `"ans "`).
    pub description_strref: u32,
    /// ResIDs to store instead of the positions.
    pub res_ids: Option<Vec<u32>>,
    /// BuildYear (since 1900) and BuildDay.
    pub build: (u32, u32),
}

impl Default for ErfOptions {
    fn default() -> Self {
        ErfOptions {
            file_type: *b"HAK ",
            v11: true,
            v11_short_keys: false,
            localized: Vec::new(),
            tables_after_data: false,
            key_padding: 0,
            description_strref: 0xFFFF_FFFF,
            res_ids: None,
            build: (125, 0),
        }
    }
}

/// Encodes an archive.
pub fn write(resources: &[ErfResource], o: &ErfOptions) -> Vec<u8> {
    let stride: usize = if o.v11 && !o.v11_short_keys { 40 } else { 24 };
    let name_len = stride - 8;
    let count = resources.len();
    let loc_len: usize = o.localized.iter().map(|(_, b)| 8 + b.len()).sum();
    let keys_len = count * stride;
    let res_len = count * 8;
    let data_len: usize = resources.iter().map(|r| r.data.len()).sum();
    let loc_off = 160;
    let (key_off, res_off, data_off) = if o.tables_after_data {
        let data_off = loc_off + loc_len;
        let key_off = data_off + data_len;
        (
            key_off,
            key_off + keys_len + o.key_padding as usize,
            data_off,
        )
    } else {
        let key_off = loc_off + loc_len;
        let res_off = key_off + keys_len + o.key_padding as usize;
        (key_off, res_off, res_off + res_len)
    };
    let total = (res_off + res_len).max(data_off + data_len);
    let mut out = vec![0u8; total];
    let put = |out: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes)
    };
    put(&mut out, 0, &o.file_type);
    put(&mut out, 4, if o.v11 { b"V1.1" } else { b"V1.0" });
    put(&mut out, 8, &(o.localized.len() as u32).to_le_bytes());
    put(&mut out, 12, &(loc_len as u32).to_le_bytes());
    put(&mut out, 16, &(count as u32).to_le_bytes());
    put(&mut out, 20, &(loc_off as u32).to_le_bytes());
    put(&mut out, 24, &(key_off as u32).to_le_bytes());
    put(&mut out, 28, &(res_off as u32).to_le_bytes());
    put(&mut out, 32, &o.build.0.to_le_bytes());
    put(&mut out, 36, &o.build.1.to_le_bytes());
    put(&mut out, 40, &o.description_strref.to_le_bytes());
    let mut at = loc_off;
    for (lang, bytes) in &o.localized {
        put(&mut out, at, &lang.to_le_bytes());
        put(&mut out, at + 4, &(bytes.len() as u32).to_le_bytes());
        put(&mut out, at + 8, bytes);
        at += 8 + bytes.len();
    }
    let mut data_at = data_off;
    for (i, r) in resources.iter().enumerate() {
        let k = key_off + i * stride;
        let n = r.name.len().min(name_len);
        put(&mut out, k, &r.name[..n]);
        let id = o
            .res_ids
            .as_ref()
            .and_then(|ids| ids.get(i).copied())
            .unwrap_or(i as u32);
        put(&mut out, k + name_len, &id.to_le_bytes());
        put(&mut out, k + name_len + 4, &r.res_type.to_le_bytes());
        let e = res_off + i * 8;
        put(&mut out, e, &(data_at as u32).to_le_bytes());
        put(&mut out, e + 4, &(r.data.len() as u32).to_le_bytes());
        put(&mut out, data_at, &r.data);
        data_at += r.data.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_a_small_hak() {
        let r = ErfResource {
            name: b"Is_X".to_vec(),
            res_type: 3,
            data: vec![1, 2, 3],
        };
        let bytes = write(std::slice::from_ref(&r), &ErfOptions::default());
        assert_eq!(&bytes[..8], b"HAK V1.1");
        assert_eq!(bytes.len(), 160 + 40 + 8 + 3);
        assert_eq!(&bytes[160..164], b"Is_X");
        let v10 = write(
            &[r],
            &ErfOptions {
                v11: false,
                tables_after_data: true,
                ..ErfOptions::default()
            },
        );
        assert_eq!(&v10[4..8], b"V1.0");
        assert_eq!(u32::from_le_bytes(v10[24..28].try_into().unwrap()), 163);
    }
}

//! Hostile input: truncation at every offset, bit flips, crafted payloads with recomputed
//! checksums, random mutations (proptest). Every case must be rejected with a reason or answer
//! with `Error::Corrupt` on access; nothing may panic or allocate more than the file's size.

mod common;

use common::{inputs, opts, reseal};
use modforge_dataset::{
    DATASET_KIND, Dataset, DatasetOptions, DatasetPlan, TableInput, open_dataset,
};
use modforge_gen::dataset::{Scale, dalle};
use modforge_store::{
    Error, Fingerprint, Hooks, PayloadKind, ReasonCode, Snapshot, SnapshotId, check_image,
};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: modforge_fuzzkit::CountingAllocator = modforge_fuzzkit::CountingAllocator;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, usage) = modforge_fuzzkit::measure(f);
    assert!(usage.measured);
    (out, usage.largest)
}

/// Runs `f` and returns its result with the peak of heap bytes it held at once.
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, usage) = modforge_fuzzkit::measure(f);
    assert!(usage.measured);
    (out, usage.peak)
}

struct Built {
    id: SnapshotId,
    fp: Fingerprint,
    image: Vec<u8>,
    _dir: Option<tempfile::TempDir>,
}

fn dalle_snapshot() -> (
    Built,
    modforge_gen::dataset::GeneratedSet,
    tempfile::TempDir,
) {
    let gen_dir = tempfile::tempdir().unwrap();
    let set = dalle(gen_dir.path(), 11, Scale::Dalle).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut o = DatasetOptions::new(dir.path(), "dalle");
    o.version = Some(set.version.clone());
    o.version_column = Some("version".into());
    let plan = DatasetPlan::new(o, Some(&inputs(&set))).unwrap();
    let opened = plan.build(inputs(&set), None, &Hooks::default()).unwrap();
    let image = std::fs::read(&opened.path).unwrap();
    let id = SnapshotId::new(dir.path(), "dalle", &set.version, DATASET_KIND).unwrap();
    (
        Built {
            id,
            fp: *plan.fingerprint(),
            image,
            _dir: Some(dir),
        },
        set,
        gen_dir,
    )
}

fn small_snapshot() -> Built {
    let dir = tempfile::tempdir().unwrap();
    let tables = vec![
        (
            "a".to_string(),
            TableInput::Rows {
                columns: vec!["k".into(), "v".into()],
                rows: vec![
                    vec!["alpha".into(), "1".into()],
                    vec!["beta".into(), "2".into()],
                    vec!["gamma".into(), "3".into()],
                ],
            },
        ),
        (
            "b".to_string(),
            TableInput::Rows {
                columns: vec!["x".into()],
                rows: vec![vec!["p".into()], vec!["q".into()]],
            },
        ),
    ];
    let o = opts(dir.path(), "small", "1", "tok");
    let plan = DatasetPlan::new(o, Some(&tables)).unwrap();
    let opened = plan.build(tables, None, &Hooks::default()).unwrap();
    let image = std::fs::read(&opened.path).unwrap();
    let id = SnapshotId::new(dir.path(), "small", "1", DATASET_KIND).unwrap();
    Built {
        id,
        fp: *plan.fingerprint(),
        image,
        _dir: Some(dir),
    }
}

fn open_image(b: &Built, image: Vec<u8>) -> Result<Dataset, modforge_store::Reason> {
    Snapshot::from_image("crafted.mfs", image, &b.id, &b.fp).and_then(Dataset::from_snapshot)
}

/// Touches everything a reader can touch; every failure must be `Corrupt`.
fn exercise(ds: &Dataset) -> Result<(), Error> {
    let _ = ds.report_json();
    match ds.report() {
        Ok(_) | Err(Error::Corrupt { .. }) => {}
        Err(e) => return Err(e),
    }
    for t in ds.tables() {
        for r in 0..t.len().min(50) {
            for c in 0..t.columns().len() {
                match t.cell(r, c) {
                    Ok(_) | Err(Error::Corrupt { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        for key in [&b"alpha"[..], b"beta", b"q", b"zzz", b"1"] {
            match t.lookup(key) {
                Ok(_) | Err(Error::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    match ds.verify_cells() {
        Ok(_) | Err(Error::Corrupt { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

const P: usize = 192;
fn rd32(img: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(img[P + off..P + off + 4].try_into().unwrap())
}
fn rd64(img: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(img[P + off..P + off + 8].try_into().unwrap())
}
fn wr32(img: &mut [u8], off: usize, v: u32) {
    img[P + off..P + off + 4].copy_from_slice(&v.to_le_bytes());
}
fn wr64(img: &mut [u8], off: usize, v: u64) {
    img[P + off..P + off + 8].copy_from_slice(&v.to_le_bytes());
}
/// Payload offset of table `t`'s entry and of its column `c`'s entry.
fn table_at(img: &[u8], t: usize) -> usize {
    rd64(img, 24) as usize + 48 * t
}
fn column_at(img: &[u8], t: usize, c: usize) -> usize {
    rd64(img, table_at(img, t) + 24) as usize + 32 * c
}

#[test]
fn truncation_at_every_offset() {
    let (b, set, _gen) = dalle_snapshot();
    assert!(check_image(&b.image, &b.id, &b.fp).is_ok());
    for len in 0..b.image.len() {
        let reason = check_image(&b.image[..len], &b.id, &b.fp).unwrap_err();
        assert_eq!(reason.code, ReasonCode::Corrupt, "truncated to {len}");
    }
    // A sample through real files: rejected, rebuilt, valid again.
    let cache = b.id.dir().to_path_buf();
    let mut lens = vec![
        0,
        1,
        8,
        191,
        192,
        193,
        240,
        b.image.len() / 2,
        b.image.len() - 1,
    ];
    let mut rng = fastrand::Rng::with_seed(5);
    lens.extend((0..12).map(|_| rng.usize(..b.image.len())));
    for len in lens {
        std::fs::write(b.id.path(), &b.image[..len]).unwrap();
        let mut o = DatasetOptions::new(&cache, "dalle");
        o.version_column = Some("version".into());
        o.version = Some(set.version.clone());
        let opened = open_dataset(o, inputs(&set), &Hooks::default()).unwrap();
        assert_eq!(
            opened.rejected.unwrap().code,
            ReasonCode::Corrupt,
            "file truncated to {len}"
        );
        assert!(opened.persisted);
        assert_eq!(std::fs::read(b.id.path()).unwrap()[192..], b.image[192..]);
    }
}

#[test]
fn bit_flips_are_always_rejected() {
    let (b, set, _gen) = dalle_snapshot();
    let mut image = b.image.clone();
    for bit in 0..P * 8 {
        image[bit / 8] ^= 1 << (bit % 8);
        let reason = check_image(&image, &b.id, &b.fp).unwrap_err();
        assert!(
            matches!(
                reason.code,
                ReasonCode::Corrupt | ReasonCode::Version | ReasonCode::Kind | ReasonCode::Stale
            ),
            "header bit {bit}"
        );
        image[bit / 8] ^= 1 << (bit % 8);
    }
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let payload_bits = (image.len() - P) * 8;
    for _ in 0..10_000 {
        let bit = P * 8 + rng.usize(..payload_bits);
        image[bit / 8] ^= 1 << (bit % 8);
        let reason = check_image(&image, &b.id, &b.fp).unwrap_err();
        assert_eq!(reason.code, ReasonCode::Corrupt, "payload bit {bit}");
        assert_eq!(reason.offset, Some(192));
        image[bit / 8] ^= 1 << (bit % 8);
    }
    assert_eq!(image, b.image);
    // Through real files: a flipped payload bit is rebuilt.
    for _ in 0..5 {
        let mut damaged = b.image.clone();
        let bit = P * 8 + rng.usize(..payload_bits);
        damaged[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(b.id.path(), &damaged).unwrap();
        let mut o = DatasetOptions::new(b.id.dir(), "dalle");
        o.version_column = Some("version".into());
        let opened = open_dataset(o, inputs(&set), &Hooks::default()).unwrap();
        assert_eq!(opened.rejected.unwrap().code, ReasonCode::Corrupt);
        assert_eq!(std::fs::read(b.id.path()).unwrap()[192..], b.image[192..]);
    }
}

#[test]
fn crafted_payloads_are_corrupt_at_open() {
    let b = small_snapshot();
    assert!(open_image(&b, b.image.clone()).is_ok());
    type Craft = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Craft)> = vec![
        ("huge table count", Box::new(|i| wr32(i, 0, u32::MAX))),
        ("dataset flags", Box::new(|i| wr32(i, 4, 1))),
        ("names outside", Box::new(|i| wr64(i, 8, u64::MAX - 4))),
        ("names length", Box::new(|i| wr64(i, 16, 1 << 40))),
        ("tables outside", Box::new(|i| wr64(i, 24, 1 << 33))),
        ("tables misaligned", Box::new(|i| wr64(i, 24, 52))),
        ("report outside", Box::new(|i| wr64(i, 40, u64::MAX))),
        (
            "report not UTF-8",
            Box::new(|i| {
                let at = rd64(i, 32) as usize;
                i[P + at] = 0xFF;
            }),
        ),
        (
            "table name outside",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t, u32::MAX);
            }),
        ),
        (
            "duplicate table names",
            Box::new(|i| {
                let (t0, t1) = (table_at(i, 0), table_at(i, 1));
                let (off, len) = (rd32(i, t0), rd32(i, t0 + 4));
                wr32(i, t1, off);
                wr32(i, t1 + 4, len);
            }),
        ),
        (
            "huge row count",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 8, u32::MAX - 1);
            }),
        ),
        (
            "row count u32::MAX",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 8, u32::MAX);
            }),
        ),
        (
            "huge column count",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 12, u32::MAX);
            }),
        ),
        (
            "key column out of range",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 16, 2);
            }),
        ),
        (
            "index slots not a power of two",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 20, 7);
            }),
        ),
        (
            "index slots not above rows",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 20, 2);
            }),
        ),
        (
            "index outside",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr64(i, t + 32, 1 << 50);
            }),
        ),
        (
            "index without key",
            Box::new(|i| {
                let t = table_at(i, 0);
                wr32(i, t + 16, u32::MAX);
            }),
        ),
        (
            "reserved table field",
            Box::new(|i| {
                let t = table_at(i, 1);
                wr64(i, t + 40, 9);
            }),
        ),
        (
            "column name not UTF-8",
            Box::new(|i| {
                let c = column_at(i, 0, 1);
                let at = rd64(i, 8) as usize + rd32(i, c) as usize;
                i[P + at] = 0xC0;
            }),
        ),
        (
            "duplicate column names",
            Box::new(|i| {
                let (c0, c1) = (column_at(i, 0, 0), column_at(i, 0, 1));
                let (off, len) = (rd32(i, c0), rd32(i, c0 + 4));
                wr32(i, c1, off);
                wr32(i, c1 + 4, len);
            }),
        ),
        (
            "offsets outside",
            Box::new(|i| {
                let c = column_at(i, 0, 0);
                wr64(i, c + 8, u64::MAX - 3);
            }),
        ),
        (
            "blob outside",
            Box::new(|i| {
                let c = column_at(i, 0, 0);
                wr64(i, c + 24, 1 << 45);
            }),
        ),
        (
            "first offset not zero",
            Box::new(|i| {
                let c = column_at(i, 0, 0);
                let o = rd64(i, c + 8) as usize;
                wr32(i, o, 1);
            }),
        ),
        (
            "last offset not the blob length",
            Box::new(|i| {
                let c = column_at(i, 0, 0);
                let len = rd64(i, c + 24);
                wr64(i, c + 24, len - 1);
            }),
        ),
    ];
    for (what, craft) in cases {
        let mut image = b.image.clone();
        craft(&mut image);
        reseal(&mut image);
        let len = image.len();
        let (result, largest) = largest_allocation(|| open_image(&b, image));
        let reason = result.err().unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(reason.code, ReasonCode::Corrupt, "{what}");
        assert!(reason.offset.is_some(), "{what}");
        assert!(
            largest <= len,
            "{what}: allocated {largest} bytes for a {len}-byte file"
        );
    }
}

#[test]
fn crafted_payloads_are_corrupt_on_access() {
    let b = small_snapshot();
    let offsets_of = |i: &[u8], t, c| rd64(i, column_at(i, t, c) + 8) as usize;
    let blob_of = |i: &[u8], t, c| rd64(i, column_at(i, t, c) + 16) as usize;
    let index_of = |i: &[u8], t| {
        (
            rd64(i, table_at(i, t) + 32) as usize,
            rd32(i, table_at(i, t) + 20) as usize,
        )
    };

    // Offsets out of order: open passes (O(columns) checks), the cell access fails.
    let mut image = b.image.clone();
    let o = offsets_of(&image, 0, 1);
    wr32(&mut image, o + 4, 1000);
    reseal(&mut image);
    let ds = open_image(&b, image).unwrap();
    let t = ds.table("a").unwrap();
    assert!(matches!(t.cell(0, 1), Err(Error::Corrupt { offset, .. }) if offset == (P + o) as u64));
    assert!(matches!(t.cell(1, 1), Err(Error::Corrupt { .. })));
    assert_eq!(t.cell(2, 1).unwrap(), "3");
    assert!(matches!(ds.verify_cells(), Err(Error::Corrupt { .. })));

    // A cell that is not UTF-8.
    let mut image = b.image.clone();
    let blob = blob_of(&image, 0, 0);
    image[P + blob] = 0xFF;
    reseal(&mut image);
    let ds = open_image(&b, image).unwrap();
    assert!(
        matches!(ds.table("a").unwrap().cell(0, 0), Err(Error::Corrupt { offset, .. }) if offset == (P + blob) as u64)
    );

    // Slots holding rows >= row count.
    let mut image = b.image.clone();
    let (index, slots) = index_of(&image, 0);
    for s in 0..slots {
        wr32(&mut image, index + 4 * s, 3);
    }
    reseal(&mut image);
    let ds = open_image(&b, image).unwrap();
    assert!(matches!(
        ds.table("a").unwrap().lookup(b"alpha"),
        Err(Error::Corrupt { .. })
    ));

    // A full index (no empty slot): the probe stops after `slots` steps.
    let mut image = b.image.clone();
    for s in 0..slots {
        wr32(&mut image, index + 4 * s, 1);
    }
    reseal(&mut image);
    let ds = open_image(&b, image).unwrap();
    let t = ds.table("a").unwrap();
    assert_eq!(t.lookup(b"beta").unwrap(), Some(1));
    assert!(
        matches!(t.lookup(b"nope"), Err(Error::Corrupt { detail, .. }) if detail.contains("no empty slot"))
    );
    assert!(matches!(ds.verify_cells(), Err(Error::Corrupt { .. })));
}

#[test]
fn many_tables_allocate_less_than_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let tables: Vec<(String, TableInput)> = (0..3000)
        .map(|i| {
            (
                format!("t{i}"),
                TableInput::Rows {
                    columns: vec!["k".into()],
                    rows: vec![vec![format!("{i}")]],
                },
            )
        })
        .collect();
    let opened = open_dataset(
        opts(dir.path(), "many", "1", "tok"),
        tables,
        &Hooks::default(),
    )
    .unwrap();
    let image = std::fs::read(&opened.path).unwrap();
    let id = SnapshotId::new(dir.path(), "many", "1", DATASET_KIND).unwrap();
    let fp = opened.value.snapshot().header().fingerprint().unwrap();
    let b = Built {
        id,
        fp,
        image: image.clone(),
        _dir: None,
    };
    let len = image.len();
    let (ds, largest) = largest_allocation(|| open_image(&b, image));
    let ds = ds.unwrap();
    assert!(
        largest <= len,
        "allocated {largest} bytes for a {len}-byte file"
    );
    assert_eq!(ds.table_count(), 3000);
    assert_eq!(ds.table("t2999").unwrap().cell(0, 0).unwrap(), "2999");
    assert_eq!(ds.table("t0").unwrap().lookup(b"0").unwrap(), Some(0));
    assert!(ds.table("t3000").is_none());
}

#[test]
fn random_bytes_are_rejected() {
    let b = small_snapshot();
    let mut rng = fastrand::Rng::with_seed(99);
    for _ in 0..2000 {
        let len = rng.usize(..600);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        if rng.bool() && len >= 8 {
            bytes[..8].copy_from_slice(&b.image[..8]);
        }
        assert!(check_image(&bytes, &b.id, &b.fp).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random writes anywhere in a resealed payload: rejected at open or every access is
    /// `Ok`/`Corrupt`; no panic; no allocation beyond the file's size.
    #[test]
    fn mutated_payloads_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u32>(), 0u8..3), 1..6)
    ) {
        let b = small_snapshot_cached();
        let mut image = b.image.clone();
        let payload_len = image.len() - P;
        for (at, value, width) in edits {
            let at = P + at.index(payload_len);
            match width {
                0 => image[at] = value as u8,
                1 if at + 4 <= image.len() => image[at..at + 4].copy_from_slice(&value.to_le_bytes()),
                _ if at + 8 <= image.len() => image[at..at + 8].copy_from_slice(&u64::from(value).rotate_left(value % 64).to_le_bytes()),
                _ => image[at] ^= 0x80,
            }
        }
        reseal(&mut image);
        let len = image.len();
        let (result, largest) = largest_allocation(|| open_image(b, image));
        prop_assert!(largest <= len, "allocated {} for {} bytes", largest, len);
        match result {
            Err(reason) => prop_assert_eq!(reason.code, ReasonCode::Corrupt),
            Ok(ds) => prop_assert!(exercise(&ds).is_ok()),
        }
    }
}

fn small_snapshot_cached() -> &'static Built {
    static CELL: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        // Only the image is used: the directory is removed at once.
        let mut b = small_snapshot();
        b._dir.take();
        b
    })
}

/// A payload laid out by hand: sections at explicit offsets, shared or overlapping when a test
/// says so (the encoder never writes such a payload; a crafted file can).
struct Raw {
    payload: Vec<u8>,
}

impl Raw {
    fn new(len: usize) -> Self {
        Raw {
            payload: vec![0; len],
        }
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.payload[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, at: usize, v: u64) {
        self.payload[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.payload[at..at + bytes.len()].copy_from_slice(bytes);
    }
    fn dataset_header(&mut self, tables: u32, names: (usize, usize), report: (usize, usize)) {
        self.u32(0, tables);
        self.u64(8, names.0 as u64);
        self.u64(16, names.1 as u64);
        self.u64(24, 48);
        self.u64(32, report.0 as u64);
        self.u64(40, report.1 as u64);
    }
    #[allow(clippy::too_many_arguments)]
    fn table(
        &mut self,
        at: usize,
        name: (u32, u32),
        rows: u32,
        columns: u32,
        columns_off: usize,
        slots: u32,
        index_off: usize,
    ) {
        self.u32(at, name.0);
        self.u32(at + 4, name.1);
        self.u32(at + 8, rows);
        self.u32(at + 12, columns);
        self.u32(at + 16, 0);
        self.u32(at + 20, slots);
        self.u64(at + 24, columns_off as u64);
        self.u64(at + 32, index_off as u64);
    }
    fn column(&mut self, at: usize, name: (u32, u32), offsets_off: usize, blob: (usize, usize)) {
        self.u32(at, name.0);
        self.u32(at + 4, name.1);
        self.u64(at + 8, offsets_off as u64);
        self.u64(at + 16, blob.0 as u64);
        self.u64(at + 24, blob.1 as u64);
    }
    /// The whole snapshot image (header with correct checksums) for `b`'s id and fingerprint.
    fn image(self, b: &Built) -> Vec<u8> {
        let head =
            modforge_store::encode_header(DATASET_KIND, b.id.version(), &b.fp, &self.payload, 0);
        let mut image = head.to_vec();
        image.extend_from_slice(&self.payload);
        image
    }
}

/// Letters that never repeat a window of a few bytes, so overlapping names are all different.
fn name_bytes(len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(77);
    (0..len).map(|_| rng.u8(b'a'..=b'z')).collect()
}

/// 2,000 tables sharing one array of 2,040 columns with 1,000-byte names: a 165 KB file that
/// made opening copy every column name once per table (about 4 GB). It is refused at its first
/// column entry; what was held at once is the image and the table list and name set sized by
/// the 48-byte table entries the file holds, a small multiple of its size.
#[test]
fn tables_sharing_a_column_array_are_refused_without_amplified_allocation() {
    let b = small_snapshot();
    let (tables, columns, long) = (2000usize, 2040usize, 1000u32);
    let columns_at = 48 + tables * 48;
    let offsets_at = columns_at + columns * 32;
    let blob_at = offsets_at + 8;
    let index_at = blob_at + 8;
    let names_at = index_at + 8;
    let names = name_bytes(columns + long as usize + 64);
    let report_at = names_at + names.len().next_multiple_of(8);
    let report = b"{\"tables\":[]}";
    let mut raw = Raw::new(report_at + report.len());
    raw.dataset_header(
        tables as u32,
        (names_at, names.len()),
        (report_at, report.len()),
    );
    for t in 0..tables {
        raw.table(
            48 + t * 48,
            (t as u32, 64),
            1,
            columns as u32,
            columns_at,
            2,
            index_at,
        );
    }
    for c in 0..columns {
        raw.column(
            columns_at + c * 32,
            (c as u32, long),
            offsets_at,
            (blob_at, 1),
        );
    }
    raw.u32(offsets_at + 4, 1);
    raw.put(blob_at, b"x");
    raw.u32(index_at, 0);
    raw.u32(index_at + 4, u32::MAX);
    raw.put(names_at, &names);
    raw.put(report_at, report);
    let image = raw.image(&b);
    let len = image.len();
    assert!((164_000..166_000).contains(&len), "{len}");
    let (result, peak) = peak_allocation(|| open_image(&b, image));
    let reason = result.unwrap_err();
    assert_eq!(reason.code, ReasonCode::Corrupt);
    assert!(
        peak <= 4 * len,
        "opening a {len}-byte file held {peak} bytes at once ({reason})"
    );
}

/// Columns of many tables sharing one offsets array: verify would walk tables × columns × rows
/// cells for a file of a few hundred KB. Sections must follow each other, so it is refused at
/// open, and verify (which opens first) agrees.
#[test]
fn shared_offsets_arrays_are_refused_at_open_and_by_verify() {
    let b = small_snapshot();
    let (tables, columns, rows) = (40usize, 50usize, 20_000usize);
    let columns_at = 48 + tables * 48;
    // Every table has its own column entries, all pointing at one offsets array and one text.
    let offsets_at = columns_at + tables * columns * 32;
    let blob_at = (offsets_at + (rows + 1) * 4).next_multiple_of(8);
    let blob_len = rows;
    let index_at = (blob_at + blob_len).next_multiple_of(8);
    let slots = (rows * 2).next_power_of_two();
    let names_at = index_at + slots * 4;
    let names = name_bytes(tables + columns + 8);
    let report_at = names_at + names.len().next_multiple_of(8);
    let report = b"{\"tables\":[]}";
    let mut raw = Raw::new(report_at + report.len());
    raw.dataset_header(
        tables as u32,
        (names_at, names.len()),
        (report_at, report.len()),
    );
    for t in 0..tables {
        let own = columns_at + t * columns * 32;
        raw.table(
            48 + t * 48,
            (t as u32, 4),
            rows as u32,
            columns as u32,
            own,
            slots as u32,
            index_at,
        );
        for c in 0..columns {
            raw.column(
                own + c * 32,
                (c as u32, 12),
                offsets_at,
                (blob_at, blob_len),
            );
        }
    }
    for r in 0..=rows {
        raw.u32(offsets_at + r * 4, r as u32);
    }
    raw.put(blob_at, &vec![b'k'; blob_len]);
    for s in 0..slots {
        raw.u32(index_at + s * 4, u32::MAX);
    }
    raw.put(names_at, &names);
    raw.put(report_at, report);
    let image = raw.image(&b);
    let reason = open_image(&b, image.clone()).unwrap_err();
    assert_eq!(reason.code, ReasonCode::Corrupt);
    let snapshot = Snapshot::from_image("crafted.mfs", image, &b.id, &b.fp).unwrap();
    let examined = modforge_dataset::DatasetPayload
        .examine(&snapshot, true, &modforge_core::Control::default())
        .unwrap();
    assert_eq!(examined.checks.len(), 1, "{examined:?}");
    assert!(examined.checks[0].result.is_err());
}

/// Thousands of tables sharing one array of thousands of columns: the duplicate-column check
/// was quadratic per table and ran once per table. Refused at the second table.
#[test]
fn tables_sharing_a_wide_column_array_are_refused_at_once() {
    let b = small_snapshot();
    let (tables, columns) = (40usize, 4000usize);
    let columns_at = 48 + tables * 48;
    let offsets_at = columns_at + columns * 32;
    let index_at = offsets_at + 8;
    let names_at = index_at + 8;
    let names = name_bytes(columns + tables + 16);
    let report_at = names_at + names.len().next_multiple_of(8);
    let report = b"{\"tables\":[]}";
    let mut raw = Raw::new(report_at + report.len());
    raw.dataset_header(
        tables as u32,
        (names_at, names.len()),
        (report_at, report.len()),
    );
    for t in 0..tables {
        raw.table(
            48 + t * 48,
            (t as u32, 8),
            0,
            columns as u32,
            columns_at,
            2,
            index_at,
        );
    }
    for c in 0..columns {
        raw.column(
            columns_at + c * 32,
            (c as u32, 8),
            offsets_at,
            (index_at, 0),
        );
    }
    raw.u32(index_at, u32::MAX);
    raw.u32(index_at + 4, u32::MAX);
    raw.put(names_at, &names);
    raw.put(report_at, report);
    let reason = open_image(&b, raw.image(&b)).unwrap_err();
    assert_eq!(reason.code, ReasonCode::Corrupt);
}

/// A NUL inside a column name: such a dataset could not serve a row to JavaScript (a property
/// name cannot hold NUL), so every access failed as an internal error while verify said OK.
#[test]
fn names_with_nul_are_corrupt_at_open_and_for_verify() {
    let b = small_snapshot();
    let mut image = b.image.clone();
    let c = column_at(&image, 0, 1);
    let at = rd64(&image, 8) as usize + rd32(&image, c) as usize;
    image[P + at] = 0;
    reseal(&mut image);
    let reason = open_image(&b, image.clone()).unwrap_err();
    assert_eq!(reason.code, ReasonCode::Corrupt);
    assert!(reason.detail.contains("NUL"), "{}", reason.detail);
    let snapshot = Snapshot::from_image("crafted.mfs", image, &b.id, &b.fp).unwrap();
    let examined = modforge_dataset::DatasetPayload
        .examine(&snapshot, true, &modforge_core::Control::default())
        .unwrap();
    assert!(examined.checks.iter().any(|c| c.result.is_err()));
}

/// A report that is not JSON, or JSON of another shape, made `dataset.report` throw a plain
/// SyntaxError or TypeError in JavaScript after a successful open. It is validated at open.
#[test]
fn a_broken_report_is_corrupt_at_open() {
    let b = small_snapshot();
    let report_at = rd64(&b.image, 32) as usize;
    let report_len = rd64(&b.image, 40) as usize;
    let original = b.image[P + report_at..P + report_at + report_len].to_vec();
    let mut variants: Vec<Vec<u8>> =
        vec![b"#".to_vec(), b"{\"tables\":{}}".to_vec(), b"[]".to_vec()];
    // The right shape for the wrong tables: one entry renamed.
    let renamed = String::from_utf8(original.clone())
        .unwrap()
        .replacen("\"a\"", "\"z\"", 1);
    variants.push(renamed.into_bytes());
    for variant in variants {
        let mut padded = variant.clone();
        padded.resize(report_len, b' ');
        let mut image = b.image.clone();
        image[P + report_at..P + report_at + report_len].copy_from_slice(&padded);
        reseal(&mut image);
        let reason = open_image(&b, image).unwrap_err();
        assert_eq!(
            reason.code,
            ReasonCode::Corrupt,
            "{}",
            String::from_utf8_lossy(&variant)
        );
        assert_eq!(reason.offset, Some((P + report_at) as u64));
    }
}

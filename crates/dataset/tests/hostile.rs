//! Hostile input: truncation at every offset, bit flips, crafted payloads with recomputed
//! checksums, random mutations (proptest). Every case must be rejected with a reason or answer
//! with `Error::Corrupt` on access; nothing may panic or allocate more than the file's size.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{inputs, opts, reseal};
use modforge_dataset::{
    DATASET_KIND, Dataset, DatasetOptions, DatasetPlan, TableInput, open_dataset,
};
use modforge_gen::dataset::{Scale, dalle};
use modforge_store::{Error, Fingerprint, Hooks, ReasonCode, Snapshot, SnapshotId, check_image};
use proptest::prelude::*;

/// Records the largest single allocation made by the current thread while armed.
struct Tracking;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

#[allow(unsafe_code)]
// SAFETY: forwards every call to the system allocator unchanged; it only observes sizes.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ARMED.try_with(|armed| {
            if armed.get() {
                let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
            }
        });
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ARMED.try_with(|armed| {
            if armed.get() {
                let _ = LARGEST.try_with(|l| l.set(l.get().max(new_size)));
            }
        });
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result with the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    (out, LARGEST.with(Cell::get))
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

    // A report that is UTF-8 but not JSON.
    let mut image = b.image.clone();
    let at = rd64(&image, 32) as usize;
    image[P + at] = b'#';
    reseal(&mut image);
    let ds = open_image(&b, image).unwrap();
    assert!(matches!(ds.report(), Err(Error::Corrupt { .. })));
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

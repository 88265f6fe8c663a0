//! Hostile input for every parser: random bytes, truncation at every offset, bit flips, and a
//! structure-aware mutator (valid framing and checksums around lying counts, offsets and sizes).
//! Every case must return an error or a value, never panic, and allocate at most a fixed
//! multiple of its input (a counting allocator in this test binary measures the peak of each
//! case on its own thread). A watchdog aborts the run if one case hangs.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use modforge_core::Control;
use modforge_gen::SplitMix64;
use modforge_gen::nwn2::dds::{self as gdds, DdsPixels};
use modforge_gen::nwn2::erf::{ErfOptions, ErfResource, write as erf_write};
use modforge_gen::nwn2::gff::{IfoField, module_ifo};
use modforge_gen::nwn2::image::{Alpha, icon};
use modforge_gen::nwn2::tga::{self, TgaOptions, TgaPixels};
use modforge_icons::ResType;
use modforge_icons::decode::decode;
use modforge_icons::erf::Erf;

// ----- per-thread allocation accounting -----

struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn note(delta: i64) {
    // `try_with` fails only while the thread is being torn down; then nothing is measured.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every method forwards to the system allocator with the caller's layout and only adds
// bookkeeping in const-initialised thread-local cells (which never allocate).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as i64));
        // SAFETY: `ptr` was allocated by `System` with this layout (all allocations go through it).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as i64 - layout.size() as i64);
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns the peak of bytes allocated (and not yet freed) during it on this thread.
fn peak_of(f: impl FnOnce()) -> i64 {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

// ----- the harness -----

/// A parser under test: its name, the allocation factor and constant allowed, and the call.
struct Parser {
    name: &'static str,
    factor: i64,
    constant: i64,
    run: fn(&[u8]),
}

static CASE_STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn watchdog() -> Arc<()> {
    let alive = Arc::new(());
    let weak = Arc::downgrade(&alive);
    let start = Instant::now();
    std::thread::spawn(move || {
        while weak.upgrade().is_some() {
            std::thread::sleep(Duration::from_millis(500));
            let began = CASE_STARTED_MS.load(Ordering::Relaxed);
            let now = start.elapsed().as_millis() as u64;
            if began > 0 && now.saturating_sub(began) > 60_000 {
                eprintln!("a hostile-input case ran for more than a minute: hang");
                std::process::abort();
            }
        }
    });
    alive
}

fn check(parser: &Parser, input: &[u8], what: &str, clock: &Instant) {
    CASE_STARTED_MS.store(clock.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    let outcome = std::panic::catch_unwind(|| peak_of(|| (parser.run)(input)));
    let peak = match outcome {
        Ok(peak) => peak,
        Err(_) => panic!("{}: panic on {what} ({} bytes)", parser.name, input.len()),
    };
    let allowed = parser.factor * input.len() as i64 + parser.constant;
    assert!(
        peak <= allowed,
        "{}: {what}: peak allocation {peak} bytes for {} input bytes (allowed {allowed})",
        parser.name,
        input.len()
    );
    CASE_STARTED_MS.store(0, Ordering::Relaxed);
}

/// Random bytes, every truncation, one flip per byte, then `structural` mutants.
fn torture(parser: &Parser, samples: &[Vec<u8>], structural: &[(String, Vec<u8>)], seed: u64) {
    let _guard = watchdog();
    let clock = Instant::now();
    let mut rng = SplitMix64::new(seed);
    for i in 0..300 {
        let len = rng.below(if i % 3 == 0 { 64 } else { 4096 }) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if let Some(sample) = samples.get(i % samples.len().max(1)) {
            // Half of them keep a valid magic/header prefix.
            if i % 2 == 0 {
                let keep = sample.len().min(bytes.len()).min(rng.below(64) as usize);
                bytes[..keep].copy_from_slice(&sample[..keep]);
            }
        }
        check(parser, &bytes, &format!("random #{i}"), &clock);
    }
    for (k, sample) in samples.iter().enumerate() {
        check(parser, sample, &format!("sample {k}"), &clock);
        let step = (sample.len() / 4000).max(1);
        for cut in (0..sample.len()).step_by(step) {
            check(
                parser,
                &sample[..cut],
                &format!("sample {k} cut at {cut}"),
                &clock,
            );
        }
        for at in (0..sample.len()).step_by(step) {
            let mut flipped = sample.clone();
            flipped[at] ^= 1 << rng.below(8);
            check(
                parser,
                &flipped,
                &format!("sample {k} flip at {at}"),
                &clock,
            );
        }
    }
    for (what, bytes) in structural {
        check(parser, bytes, what, &clock);
    }
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    if at + 4 <= b.len() {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    if at + 2 <= b.len() {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
}

const LIES32: [u32; 8] = [0, 1, 0x7F, 0xA0, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFF0, u32::MAX];

// ----- ERF -----

fn erf_samples() -> Vec<Vec<u8>> {
    let r = |n: &str, t: u16, d: &[u8]| ErfResource {
        name: n.as_bytes().to_vec(),
        res_type: t,
        data: d.to_vec(),
    };
    let items = [
        r("a", 3, b"aaaa"),
        r("bb", 10, b""),
        r("ccc", 2033, &[7; 40]),
    ];
    vec![
        erf_write(&items, &ErfOptions::default()),
        erf_write(
            &items,
            &ErfOptions {
                v11: false,
                localized: vec![(0, b"hello".to_vec()), (1, b"x".to_vec())],
                ..ErfOptions::default()
            },
        ),
        erf_write(
            &items,
            &ErfOptions {
                tables_after_data: true,
                v11_short_keys: true,
                key_padding: 24,
                ..ErfOptions::default()
            },
        ),
        common::fixture("hak_with_description.hak"),
    ]
}

fn erf_run(bytes: &[u8]) {
    if let Ok(erf) = Erf::parse(bytes, "h.hak") {
        for e in &erf.entries {
            let _ = erf.read(bytes, e, "h.hak");
        }
        for l in &erf.localized {
            let _ = l.text();
        }
    }
}

fn erf_structural(samples: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        for field in [8usize, 12, 16, 20, 24, 28] {
            for lie in LIES32 {
                let mut b = s.clone();
                put32(&mut b, field, lie);
                out.push((format!("erf {k} header field {field} = {lie:#x}"), b));
            }
        }
        let count = u32::from_le_bytes(s[16..20].try_into().unwrap()) as usize;
        let res = u32::from_le_bytes(s[28..32].try_into().unwrap()) as usize;
        for i in 0..count {
            for lie in LIES32 {
                let mut b = s.clone();
                put32(&mut b, res + i * 8, lie);
                out.push((format!("erf {k} entry {i} offset {lie:#x}"), b.clone()));
                put32(&mut b, res + i * 8 + 4, lie);
                out.push((format!("erf {k} entry {i} offset and size {lie:#x}"), b));
            }
        }
        let mut b = s.clone();
        b[4..8].copy_from_slice(b"V2.0");
        out.push((format!("erf {k} version"), b));
    }
    out
}

#[test]
fn erf_hostile() {
    let samples = erf_samples();
    let structural = erf_structural(&samples);
    torture(
        &Parser {
            name: "erf",
            factor: 24,
            constant: 16 << 10,
            run: erf_run,
        },
        &samples,
        &structural,
        1,
    );
}

// ----- GFF -----

fn gff_samples() -> Vec<Vec<u8>> {
    vec![
        module_ifo(&[
            IfoField::Text("Mod_Tag", "t".into()),
            IfoField::HakList(vec!["a".into(), "bb".into(), "ccc".into()]),
        ]),
        module_ifo(&[IfoField::Text("Mod_Hak", "legacy".into())]),
        module_ifo(&[
            IfoField::HakList(Vec::new()),
            IfoField::ResRef("Mod_Entry_Area", "x".into()),
        ]),
    ]
}

fn gff_run(bytes: &[u8]) {
    let _ = modforge_icons::gff::hak_list(bytes, "module.ifo");
}

fn gff_structural(samples: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        for field in (8..56).step_by(4) {
            for lie in LIES32 {
                let mut b = s.clone();
                put32(&mut b, field, lie);
                out.push((format!("gff {k} header {field} = {lie:#x}"), b));
            }
        }
        let struct_off = u32::from_le_bytes(s[8..12].try_into().unwrap()) as usize;
        let structs = u32::from_le_bytes(s[12..16].try_into().unwrap()) as usize;
        let field_off = u32::from_le_bytes(s[16..20].try_into().unwrap()) as usize;
        let fields = u32::from_le_bytes(s[20..24].try_into().unwrap()) as usize;
        for i in 0..structs * 3 {
            for lie in LIES32 {
                let mut b = s.clone();
                put32(&mut b, struct_off + i * 4, lie);
                out.push((format!("gff {k} struct word {i} = {lie:#x}"), b));
            }
        }
        for i in 0..fields * 3 {
            for lie in LIES32 {
                let mut b = s.clone();
                put32(&mut b, field_off + i * 4, lie);
                out.push((format!("gff {k} field word {i} = {lie:#x}"), b));
            }
        }
        // Every struct made to list every field (shared fields: the visit budget must hold).
        let mut b = s.clone();
        for i in 0..structs {
            put32(&mut b, struct_off + i * 12 + 8, fields as u32);
        }
        out.push((format!("gff {k} shared fields"), b));
    }
    out
}

#[test]
fn gff_hostile() {
    let samples = gff_samples();
    let structural = gff_structural(&samples);
    torture(
        &Parser {
            name: "gff",
            factor: 16,
            constant: 16 << 10,
            run: gff_run,
        },
        &samples,
        &structural,
        2,
    );
}

// ----- TGA -----

fn tga_samples() -> Vec<Vec<u8>> {
    let p = icon(5, 12, 9, Alpha::Soft);
    let mut out = Vec::new();
    for (pixels, rle) in [
        (TgaPixels::Bgra32, false),
        (TgaPixels::Bgr24, true),
        (
            TgaPixels::Argb16 {
                attribute_all_zero: true,
            },
            true,
        ),
        (
            TgaPixels::Argb16 {
                attribute_all_zero: false,
            },
            false,
        ),
        (TgaPixels::Grey8, true),
        (TgaPixels::Mapped8, true),
        (TgaPixels::Mapped8, false),
    ] {
        out.push(tga::write(
            &p,
            TgaOptions {
                pixels,
                rle,
                top_down: rle,
                footer: !rle,
            },
        ));
    }
    out.push(common::fixture("black.tga"));
    out
}

fn tga_run(bytes: &[u8]) {
    let _ = decode(bytes, ResType::TGA, "t.tga");
}

fn tga_structural(samples: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        for (field, lies) in [
            (0usize, vec![0u16, 1, 255]),
            (3, vec![0, 1, 0xFFFF]),
            (5, vec![0, 1, 0xFFFF]),
            (12, vec![0, 1, 0x4000, 0xFFFF]),
            (14, vec![0, 1, 0x4000, 0xFFFF]),
        ] {
            for lie in lies {
                let mut b = s.clone();
                if field == 0 {
                    b[0] = lie as u8;
                } else {
                    put16(&mut b, field, lie);
                }
                out.push((format!("tga {k} field {field} = {lie}"), b));
            }
        }
        for depth in [0u8, 1, 8, 15, 16, 24, 32, 33, 255] {
            let mut b = s.clone();
            b[16] = depth;
            out.push((format!("tga {k} depth {depth}"), b));
        }
        for image_type in [0u8, 1, 2, 3, 9, 10, 11, 32] {
            let mut b = s.clone();
            b[2] = image_type;
            out.push((format!("tga {k} type {image_type}"), b));
        }
        for map_bits in [0u8, 15, 24, 32, 200] {
            let mut b = s.clone();
            b[1] = 1;
            b[7] = map_bits;
            out.push((format!("tga {k} map bits {map_bits}"), b));
        }
        // Every RLE packet header turned into a maximal run.
        let mut b = s.clone();
        for byte in b.iter_mut().skip(18) {
            if *byte & 0x80 != 0 {
                *byte = 0xFF;
            }
        }
        out.push((format!("tga {k} long runs"), b));
        // A tiny file claiming the largest allowed image.
        let mut b = s[..18.min(s.len())].to_vec();
        put16(&mut b, 12, 16384);
        put16(&mut b, 14, 4096);
        b.extend_from_slice(&[0xFF, 0, 0, 0, 0]);
        out.push((format!("tga {k} huge image from a few bytes"), b));
    }
    out
}

#[test]
fn tga_hostile() {
    let samples = tga_samples();
    let structural = tga_structural(&samples);
    // RLE: at most 128 pixels per 2-byte packet, 12 bytes of working memory per pixel.
    torture(
        &Parser {
            name: "tga",
            factor: 128 / 2 * 12 + 64,
            constant: 64 << 10,
            run: tga_run,
        },
        &samples,
        &structural,
        3,
    );
}

// ----- DDS -----

fn dds_samples() -> Vec<Vec<u8>> {
    let p = icon(6, 9, 7, Alpha::Soft);
    let mut out: Vec<Vec<u8>> = [
        DdsPixels::Dxt1,
        DdsPixels::Dxt5,
        DdsPixels::Bc7,
        DdsPixels::Bgra8,
    ]
    .iter()
    .map(|&f| gdds::write(&p, f, true))
    .collect();
    out.push(common::dds_file(
        2,
        2,
        1,
        common::Pf::Masks(0x41, 16, [0x0F00, 0xF0, 0xF, 0xF000]),
        &[0x0f, 0x8f, 1, 2, 3, 4, 5, 6],
    ));
    out.push(common::dds_file(
        2,
        2,
        1,
        common::Pf::Masks(0x2_0000, 8, [0xFF, 0, 0, 0]),
        &[1, 2, 3, 4],
    ));
    out.push(common::fixture("dxtRBG.dds"));
    out.push(common::fixture("bioRGBA.dds"));
    out
}

fn dds_run(bytes: &[u8]) {
    let _ = decode(bytes, ResType::DDS, "t.dds");
}

fn dds_structural(samples: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        for field in [
            8usize, 12, 16, 20, 24, 28, 80, 84, 88, 92, 96, 100, 104, 112, 128, 132, 136, 140,
        ] {
            for lie in LIES32 {
                let mut b = s.clone();
                put32(&mut b, field, lie);
                out.push((format!("dds {k} field {field} = {lie:#x}"), b));
            }
        }
        for four_cc in [
            *b"DXT1", *b"DXT2", *b"DXT3", *b"DXT4", *b"DXT5", *b"DX10", *b"ATI2",
        ] {
            let mut b = s.clone();
            put32(&mut b, 80, 4);
            if b.len() >= 88 {
                b[84..88].copy_from_slice(&four_cc);
            }
            out.push((
                format!("dds {k} fourcc {}", String::from_utf8_lossy(&four_cc)),
                b,
            ));
        }
        for dxgi in [0u32, 28, 61, 65, 71, 77, 85, 86, 88, 98, 115, 999] {
            let mut b = s.clone();
            put32(&mut b, 80, 4);
            if b.len() >= 88 {
                b[84..88].copy_from_slice(b"DX10");
            }
            put32(&mut b, 128, dxgi);
            out.push((format!("dds {k} dxgi {dxgi}"), b));
        }
        let mut b = s[..128.min(s.len())].to_vec();
        put32(&mut b, 12, 16384);
        put32(&mut b, 16, 4096);
        out.push((format!("dds {k} huge header only"), b));
    }
    out
}

#[test]
fn dds_hostile() {
    let samples = dds_samples();
    let structural = dds_structural(&samples);
    // BC1: 8 input bytes per 16 output pixels (64 bytes); masks: 1 byte per 4.
    torture(
        &Parser {
            name: "dds",
            factor: 16,
            constant: 64 << 10,
            run: dds_run,
        },
        &samples,
        &structural,
        4,
    );
}

// ----- PNG -----

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Chunks of a PNG: (offset of the length field, type, data range).
fn chunks(png: &[u8]) -> Vec<(usize, [u8; 4], std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let ty: [u8; 4] = png[at + 4..at + 8].try_into().unwrap();
        if at + 12 + len > png.len() {
            break;
        }
        out.push((at, ty, at + 8..at + 8 + len));
        at += 12 + len;
    }
    out
}

fn fix_crc(png: &mut [u8], at: usize, data: std::ops::Range<usize>) {
    let crc = crc32(&png[at + 4..data.end]);
    png[data.end..data.end + 4].copy_from_slice(&crc.to_be_bytes());
}

fn png_samples() -> Vec<Vec<u8>> {
    let p = icon(8, 10, 6, Alpha::Soft);
    let mut out = vec![modforge_gen::nwn2::png_bytes(&p).unwrap()];
    let img = image::RgbaImage::from_raw(10, 6, p.rgba).unwrap();
    for variant in [
        image::DynamicImage::ImageRgba8(img.clone())
            .to_luma8()
            .into(),
        image::DynamicImage::ImageRgba8(img.clone())
            .to_rgb16()
            .into(),
        image::DynamicImage::ImageRgba8(img),
    ] {
        let variant: image::DynamicImage = variant;
        let mut bytes = Vec::new();
        variant
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        out.push(bytes);
    }
    out
}

fn png_run(bytes: &[u8]) {
    let _ = decode(bytes, ResType::PNG, "t.png");
}

fn png_structural(samples: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        for (at, ty, data) in chunks(s) {
            if &ty == b"IHDR" {
                for (field, lies) in [
                    (0usize, [0u32, 1, 16384, 0x7FFF_FFFF]),
                    (4, [0, 1, 16384, u32::MAX]),
                ] {
                    for lie in lies {
                        let mut b = s.clone();
                        b[data.start + field..data.start + field + 4]
                            .copy_from_slice(&lie.to_be_bytes());
                        fix_crc(&mut b, at, data.clone());
                        out.push((format!("png {k} IHDR {field} = {lie}"), b));
                    }
                }
                for (field, values) in [
                    (8usize, [0u8, 1, 3, 16, 99]),
                    (9, [0, 2, 3, 4, 7]),
                    (12, [0, 1, 2, 9, 0]),
                ] {
                    for v in values {
                        let mut b = s.clone();
                        b[data.start + field] = v;
                        fix_crc(&mut b, at, data.clone());
                        out.push((format!("png {k} IHDR byte {field} = {v}"), b));
                    }
                }
            }
            // Lying chunk lengths (framing kept: the CRC is recomputed where it still fits).
            for lie in [0u32, 1, 0x7FFF_FFFF, u32::MAX] {
                let mut b = s.clone();
                b[at..at + 4].copy_from_slice(&lie.to_be_bytes());
                out.push((
                    format!("png {k} {} length {lie}", String::from_utf8_lossy(&ty)),
                    b,
                ));
            }
        }
        // A tiny valid-looking PNG claiming a huge image.
        let mut b = s.clone();
        if let Some((at, _, data)) = chunks(s).into_iter().find(|c| &c.1 == b"IHDR") {
            b[data.start..data.start + 4].copy_from_slice(&16384u32.to_be_bytes());
            b[data.start + 4..data.start + 8].copy_from_slice(&4096u32.to_be_bytes());
            fix_crc(&mut b, at, data);
        }
        out.push((format!("png {k} huge claim"), b));
    }
    out
}

#[test]
fn png_hostile() {
    let samples = png_samples();
    let structural = png_structural(&samples);
    // The documented bound: output at most 4 x 1040 times the input, plus the decoder's buffers.
    torture(
        &Parser {
            name: "png",
            factor: 3 * 4160,
            constant: 1 << 20,
            run: png_run,
        },
        &samples,
        &structural,
        5,
    );
}

// ----- cache payload -----

fn cache_sample() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let icons = dir.path().join("icons");
    std::fs::create_dir_all(&icons).unwrap();
    for (i, name) in ["is_a", "is_b", "is_c", "ife_d"].iter().enumerate() {
        let p = icon(i as u64, 4 + i as u32, 3, Alpha::Soft);
        std::fs::write(
            icons.join(format!("{name}.tga")),
            tga::write(
                &p,
                TgaOptions {
                    pixels: TgaPixels::Bgra32,
                    rle: false,
                    top_down: false,
                    footer: false,
                },
            ),
        )
        .unwrap();
    }
    let mut o = modforge_icons::IconCacheOptions::new(modforge_icons::Sources::List(vec![
        modforge_icons::SourceSpec::new(&icons).with_icons(modforge_icons::IconScope::All),
    ]));
    o.validate = modforge_icons::Validate::None;
    let cache = modforge_icons::IconCache::open(o, &Control::default()).unwrap();
    cache.view().payload().to_vec()
}

fn cache_run(bytes: &[u8]) {
    let _ = modforge_icons::examine_payload(bytes, true, &Control::default());
}

fn cache_structural(s: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let section = |i: usize| {
        let off = u64::from_le_bytes(s[8 + i * 16..16 + i * 16].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(s[16 + i * 16..24 + i * 16].try_into().unwrap()) as usize;
        (off, len)
    };
    // Section table.
    for i in 0..6 {
        for lie in [0u64, 8, 104, s.len() as u64, u64::MAX, u64::MAX - 7] {
            for half in [0, 8] {
                let mut b = s.to_vec();
                b[8 + i * 16 + half..16 + i * 16 + half].copy_from_slice(&lie.to_le_bytes());
                out.push((format!("payload section {i}+{half} = {lie:#x}"), b));
            }
        }
    }
    // Meta counts (entry count, source count, table slots, string lengths): the structural checks
    // must reject them; the hashes are recomputed so only the structure lies.
    let (meta, _) = section(0);
    for field in [40usize, 44, 48] {
        for lie in LIES32 {
            let mut b = s.to_vec();
            put32(&mut b, meta + field, lie);
            out.push((format!("meta field {field} = {lie:#x}"), b));
        }
    }
    for field in [52usize, 54] {
        for lie in [0u16, 1, 0xFFFF] {
            let mut b = s.to_vec();
            put16(&mut b, meta + field, lie);
            out.push((format!("meta length {field} = {lie}"), b));
        }
    }
    // Entry fields with the index hash recomputed, so the lie reaches the entry checks.
    let (names, names_len) = section(2);
    let (entries, entries_len) = section(3);
    let (table, table_len) = section(4);
    let rehash = |b: &mut Vec<u8>| {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&b[names..names + names_len]);
        h.update(&b[entries..entries + entries_len]);
        h.update(&b[table..table + table_len]);
        let v = h.digest();
        b[meta + 32..meta + 40].copy_from_slice(&v.to_le_bytes());
    };
    for e in 0..entries_len / 56 {
        for (field, width) in [(0usize, 4usize), (4, 1), (8, 2), (20, 4), (24, 8), (32, 4)] {
            for lie in [0u64, 1, 0xFF, 0xFFFF_FFFF, u64::MAX] {
                let mut b = s.to_vec();
                let at = entries + e * 56 + field;
                b[at..at + width].copy_from_slice(&lie.to_le_bytes()[..width]);
                rehash(&mut b);
                out.push((format!("entry {e} field {field} = {lie:#x}"), b));
            }
        }
    }
    for slot in 0..table_len / 4 {
        for lie in [0u32, 1, 4, 5, 0xFFFF_FFFF] {
            let mut b = s.to_vec();
            put32(&mut b, table + slot * 4, lie);
            rehash(&mut b);
            out.push((format!("table slot {slot} = {lie}"), b));
        }
    }
    let mut full = s.to_vec();
    for slot in 0..table_len / 4 {
        put32(&mut full, table + slot * 4, 1);
    }
    rehash(&mut full);
    out.push(("full table".into(), full));
    out
}

#[test]
fn cache_payload_hostile() {
    let sample = cache_sample();
    let structural = cache_structural(&sample);
    assert!(modforge_icons::examine_payload(&sample, true, &Control::default()).is_ok());
    torture(
        &Parser {
            name: "cache payload",
            factor: 64,
            constant: 64 << 10,
            run: cache_run,
        },
        &[sample],
        &structural,
        6,
    );
}

#[test]
fn the_counting_allocator_sees_decoder_buffers() {
    assert!(peak_of(|| drop(vec![0u8; 10_000])) >= 10_000);
    let sample = tga_samples().remove(0);
    let peak = peak_of(|| tga_run(&sample));
    assert!(peak >= 12 * 9 * 4, "the decoded picture is counted: {peak}");
    let sample = dds_samples().remove(0);
    assert!(peak_of(|| dds_run(&sample)) >= 9 * 7 * 4);
}

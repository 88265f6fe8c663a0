//! Thumbnails decoded back and compared pixel for pixel, and the two cache levels: disk
//! entries survive a reopen, entries that are bit-flipped, truncated or expired are never
//! served, and an unwritable cache folder degrades to memory and says so.

mod common;

use std::sync::Arc;

use common::fixture;
use modforge_core::Control;
use modforge_rom::gfx::{self, Palette, PaletteSource, TileFormat};
use modforge_rom::hal::{self, Mode};
use modforge_rom::{
    ImageFormat, OpenOptions, RomFile, Thumbnail, ThumbnailOptions, ThumbnailRequest,
};

const FONT_AT: u64 = 0x1001;

/// A 64 KiB image with the font's greedy stream at an odd offset.
fn font_rom_image() -> Vec<u8> {
    let stream = hal::encode(&fixture("GFX_Font_4BPP_Gradation.bin"), Mode::Greedy).unwrap();
    let mut image = vec![0xFFu8; 0x10000];
    image[FONT_AT as usize..FONT_AT as usize + stream.len()].copy_from_slice(&stream);
    image
}

fn expected_rgba(palette: &Palette, scale: usize) -> (Vec<u8>, usize, usize) {
    let sheet = gfx::decode_tiles(
        &fixture("GFX_Font_4BPP_Gradation.bin"),
        TileFormat::Bpp4,
        16,
    )
    .unwrap();
    let (w, h) = (sheet.width as usize, sheet.height as usize);
    let mut out = Vec::new();
    for y in 0..h * scale {
        for x in 0..w * scale {
            out.extend_from_slice(&palette.get(sheet.indices[(y / scale) * w + x / scale]));
        }
    }
    (out, w * scale, h * scale)
}

fn decode_png(t: &Thumbnail) -> Vec<u8> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&t.image));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    assert_eq!(reader.info().color_type, png::ColorType::Indexed);
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (t.width, t.height));
    buf.truncate(info.buffer_size());
    buf
}

fn decode_webp(t: &Thumbnail) -> Vec<u8> {
    let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&t.image)).unwrap();
    assert!(!decoder.is_lossy());
    assert_eq!(decoder.dimensions(), (t.width, t.height));
    let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
    decoder.read_image(&mut buf).unwrap();
    buf
}

#[test]
fn png_webp_and_rgba_match_the_sheet_pixel_for_pixel() {
    let rom = RomFile::from_bytes("font", font_rom_image(), &OpenOptions::default()).unwrap();
    let cgram = fixture("Palette_Main.bin");
    let palette = Palette::from_cgram(&cgram, 0, 4)
        .unwrap()
        .with_transparency(true);
    for format in [ImageFormat::Png, ImageFormat::Webp, ImageFormat::Rgba] {
        let options = ThumbnailOptions {
            box_width: 256,
            box_height: 256,
            format,
            palette: PaletteSource::Cgram {
                bytes: cgram.clone(),
                index: 0,
            },
            ..ThumbnailOptions::default()
        };
        let t = rom
            .thumbnail(FONT_AT, &options, &Control::default())
            .unwrap();
        assert_eq!(
            (t.width, t.height, t.tiles, t.partial_tile),
            (256, 128, 128, false)
        );
        let rgba = match format {
            ImageFormat::Png => decode_png(&t),
            ImageFormat::Webp => decode_webp(&t),
            ImageFormat::Rgba => t.image.clone(),
        };
        let (expected, w, h) = expected_rgba(&palette, 2);
        assert_eq!((w, h), (256, 128));
        assert!(rgba == expected, "{format:?} differs");
    }
}

#[test]
fn greyscale_and_downscaled_thumbnails() {
    let rom = RomFile::from_bytes("font", font_rom_image(), &OpenOptions::default()).unwrap();
    let options = ThumbnailOptions {
        box_width: 64,
        box_height: 64,
        format: ImageFormat::Rgba,
        transparent: false,
        ..ThumbnailOptions::default()
    };
    let t = rom
        .thumbnail(FONT_AT, &options, &Control::default())
        .unwrap();
    // 128x64 into 64x64: s = 1/2, src = 2 * dst.
    assert_eq!((t.width, t.height), (64, 32));
    let sheet = gfx::decode_tiles(
        &fixture("GFX_Font_4BPP_Gradation.bin"),
        TileFormat::Bpp4,
        16,
    )
    .unwrap();
    for y in 0..32usize {
        for x in 0..64usize {
            let i = sheet.indices[(2 * y) * 128 + 2 * x];
            let v = i * 17;
            assert_eq!(&t.image[(y * 64 + x) * 4..][..4], &[v, v, v, 255]);
        }
    }
    // Errors: a bad box, a palette outside the ROM, a block that is not a stream.
    let bad_box = ThumbnailOptions {
        box_width: 0,
        ..options.clone()
    };
    assert!(
        rom.thumbnail(FONT_AT, &bad_box, &Control::default())
            .is_err()
    );
    let far = ThumbnailOptions {
        palette: PaletteSource::Rom { offset: 0xFFF0 },
        ..options.clone()
    };
    assert!(rom.thumbnail(FONT_AT, &far, &Control::default()).is_err());
    let err = rom.thumbnail(0, &options, &Control::default()).unwrap_err();
    assert!(err.to_string().contains("no tiles"), "{err}");
}

#[test]
fn batches_keep_request_order_and_coalesce() {
    let rom = RomFile::from_bytes("font", font_rom_image(), &OpenOptions::default()).unwrap();
    let base = ThumbnailOptions::default();
    let requests: Vec<ThumbnailRequest> = (0..12)
        .map(|i| ThumbnailRequest {
            offset: if i == 5 { 3 } else { FONT_AT },
            options: ThumbnailOptions {
                priority: i % 3,
                ..base.clone()
            },
        })
        .collect();
    let results = rom.thumbnails(&requests, &Control::default()).unwrap();
    assert_eq!(results.len(), 12);
    assert!(results[5].is_err(), "offset 3 is no stream");
    let first = results[0].as_ref().unwrap();
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(i, r)| i == 5 || r.as_ref().unwrap().image == first.image)
    );
    assert!(
        rom.thumbnails_rendered() <= 3,
        "{} renders",
        rom.thumbnails_rendered()
    );
    let stats = rom.cache_stats();
    assert_eq!(
        stats.l1.entries, 3,
        "the font blob, the empty stream at 3, one thumbnail"
    );
}

#[test]
fn submitted_requests_are_delivered_on_the_pool() {
    let rom =
        Arc::new(RomFile::from_bytes("font", font_rom_image(), &OpenOptions::default()).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    rom.submit_thumbnail(FONT_AT, &ThumbnailOptions::default(), move |r| {
        tx.send(r.map(|t| t.width)).unwrap();
    })
    .unwrap();
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .unwrap()
            .unwrap(),
        128
    );
}

#[test]
fn disk_cache_serves_verified_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        ..OpenOptions::default()
    };
    let thumb = ThumbnailOptions::default();
    let rom = RomFile::from_bytes("font", font_rom_image(), &options).unwrap();
    let first = rom.thumbnail(FONT_AT, &thumb, &Control::default()).unwrap();
    let s = rom.cache_stats();
    assert_eq!(
        (
            s.l2.enabled,
            s.l2.writes,
            s.l2.misses,
            s.l2.degraded.clone()
        ),
        (true, 1, 1, None)
    );
    // The entry is one snapshot file under <content hash>/<bucket>/.
    let hash = format!("{:032x}", rom.content_hash().unwrap());
    let files: Vec<_> = walk(&dir.path().join(&hash));
    assert_eq!(files.len(), 1);
    let entry = files[0].clone();
    let kinds: &[&dyn modforge_store::PayloadKind] = &[&modforge_rom::RomCachePayload::THUMB];
    let inspected = modforge_store::verify(&entry, kinds, &Control::default()).unwrap();
    assert!(inspected.ok());
    assert_eq!(inspected.checks.last().unwrap().name, "contents");
    assert_eq!(inspected.details.as_ref().unwrap()["width"], 128);
    assert_eq!(
        inspected.header.as_ref().unwrap().kind,
        modforge_rom::THUMB_KIND
    );
    let payload = std::fs::read(&entry).unwrap()[modforge_store::HEADER_LEN..].to_vec();
    let json = modforge_rom::examine_payload(&payload, true, &Control::default()).unwrap();
    assert_eq!(json["entry"], "thumb");
    assert_eq!(json["width"], 128);
    // The payload check on hostile payloads: every flip is caught by the deep check, every
    // truncation by the structural one; nothing panics.
    for i in 0..payload.len() {
        let mut bad = payload.clone();
        bad[i] ^= 0x20;
        assert!(
            modforge_rom::examine_payload(&bad, true, &Control::default()).is_err(),
            "flip {i}"
        );
        let _ = modforge_rom::examine_payload(&bad, false, &Control::default());
        assert!(modforge_rom::examine_payload(&payload[..i], false, &Control::default()).is_err());
    }
    // A structurally valid payload whose PNG claims 60,000 x 60,000 pixels is refused before
    // any pixel buffer is allocated.
    let huge = huge_png_payload(&payload);
    let err = modforge_rom::examine_payload(&huge, true, &Control::default()).unwrap_err();
    assert!(
        err.to_string().contains("larger than any thumbnail"),
        "{err}"
    );

    // A fresh reader, with an empty memory cache, is served from disk.
    let again = RomFile::from_bytes("font", font_rom_image(), &options).unwrap();
    let served = again
        .thumbnail(FONT_AT, &thumb, &Control::default())
        .unwrap();
    assert_eq!(served.image, first.image);
    assert_eq!(again.cache_stats().l2.hits, 1);

    // Damaged entries are never served: every bit flip and every truncation is a miss, and the
    // result is rendered again, correctly.
    let good = std::fs::read(&entry).unwrap();
    let step = (good.len() / 40).max(1);
    let mut damaged: Vec<Vec<u8>> = (0..good.len())
        .step_by(step)
        .map(|i| {
            let mut bad = good.clone();
            bad[i] ^= 0x04;
            bad
        })
        .collect();
    damaged.extend(
        (0..good.len())
            .step_by(step)
            .map(|cut| good[..cut].to_vec()),
    );
    for bad in damaged {
        std::fs::write(&entry, &bad).unwrap();
        let fresh = RomFile::from_bytes("font", font_rom_image(), &options).unwrap();
        let t = fresh
            .thumbnail(FONT_AT, &thumb, &Control::default())
            .unwrap();
        assert_eq!(t.image, first.image);
        let s = fresh.cache_stats();
        assert_eq!((s.l2.hits, s.l2.misses), (0, 1));
    }
    // A different ROM (another content hash) never sees these entries.
    let mut other = font_rom_image();
    other[0] = 0;
    let other = RomFile::from_bytes("other", other, &options).unwrap();
    other
        .thumbnail(FONT_AT, &thumb, &Control::default())
        .unwrap();
    assert_eq!(other.cache_stats().l2.hits, 0);
    // Expired entries are not served.
    let expiring = OpenOptions {
        cache_ttl: Some(std::time::Duration::ZERO),
        ..options.clone()
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    let late = RomFile::from_bytes("font", font_rom_image(), &expiring).unwrap();
    late.thumbnail(FONT_AT, &thumb, &Control::default())
        .unwrap();
    assert_eq!(late.cache_stats().l2.hits, 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn an_unwritable_cache_degrades_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let options = OpenOptions {
        cache_dir: Some(blocker.join("cache")),
        ..OpenOptions::default()
    };
    let rom = RomFile::from_bytes("font", font_rom_image(), &options).unwrap();
    let t = rom
        .thumbnail(FONT_AT, &ThumbnailOptions::default(), &Control::default())
        .unwrap();
    assert_eq!(t.width, 128);
    let s = rom.cache_stats();
    assert!(s.l2.enabled);
    assert!(s.l2.degraded.is_some(), "the degradation is reported");
    assert_eq!(s.l2.writes, 0);
    assert!(s.l2.errors >= 1);
    // L1 still works.
    rom.thumbnail(FONT_AT, &ThumbnailOptions::default(), &Control::default())
        .unwrap();
    assert!(rom.cache_stats().l1.hits >= 1);
}

/// CRC-32 (ISO-HDLC), as PNG chunks use.
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

/// `payload` (a thumbnail entry) with its PNG's IHDR claiming 60,000 x 60,000 pixels and the
/// payload hash recomputed, following the documented layout (docs/rom.md, "Cache payload").
fn huge_png_payload(payload: &[u8]) -> Vec<u8> {
    let fields = 24 + 16;
    let data_at = fields + 4 + 8;
    let mut png = payload[data_at..].to_vec();
    // IHDR data starts at 16 (8 signature + 4 length + 4 type); width and height are BE u32.
    png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let mut out = payload[..fields].to_vec();
    out.extend_from_slice(&(png.len() as u32).to_le_bytes());
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&out);
    h.update(&png);
    out.extend_from_slice(&h.digest().to_le_bytes());
    out.extend_from_slice(&png);
    out
}

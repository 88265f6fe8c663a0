//! Real ROMs and graphics from other projects (shared fixtures `rom/`): headers, checksum,
//! mapping, the font sheet and the CGRAM dump.

mod common;

use std::sync::Arc;

use common::{fixture, fixtures, sha256};
use modforge_core::Control;
use modforge_rom::gfx::{self, Palette, TileFormat};
use modforge_rom::{Coprocessor, Error, Location, Mapping, OpenOptions, RomFile};

fn open(name: &str) -> RomFile {
    RomFile::open(&fixtures().join(name), &OpenOptions::default()).unwrap()
}

#[test]
fn lorom_template_header() {
    let bytes = fixture("lorom-template.sfc");
    assert_eq!(
        sha256(&bytes),
        "51e1413919d54a409599bf39ac9e15e820841d824dfc20e1c660c5e86bc4ed01"
    );
    let rom = open("lorom-template.sfc");
    assert_eq!(rom.size(), 262_144);
    assert_eq!(rom.copier_header(), 0);
    let h = rom.header().unwrap();
    assert_eq!(h.offset, 0x7FC0);
    assert_eq!(h.location, Location::Lo);
    assert_eq!(h.title, "PINO'S LOROM TEMPLATE");
    assert_eq!(&h.title_bytes, b"PINO'S LOROM TEMPLATE");
    assert_eq!(
        (h.map_mode, h.fast_rom, h.mapping),
        (0x20, false, Mapping::LoRom)
    );
    assert_eq!((h.chipset, h.coprocessor), (0, None));
    assert_eq!((h.rom_size_byte, h.rom_size_kib), (8, Some(256)));
    assert_eq!(h.sram_size_kib, Some(0));
    assert_eq!((h.destination, h.developer_id, h.version), (1, 0x33, 0));
    assert_eq!(h.maker_code, Some([0, 0]));
    assert_eq!(h.game_code, Some([0, 0, 0, 0]));
    assert_eq!((h.complement, h.checksum), (0xBDA4, 0x425B));
    assert_eq!(h.computed_checksum, 0x425B);
    assert_eq!(modforge_rom::checksum(&bytes), 0x425B, "raw sum");
    assert!(h.checksum_valid);
    assert_eq!(h.reset_vector, 0x8009);
    assert_eq!(h.score, 11);
    let scores: Vec<(Location, u32)> = rom
        .header_candidates()
        .iter()
        .map(|c| (c.location, c.score))
        .collect();
    assert_eq!(scores, [(Location::Lo, 11), (Location::Hi, 0)]);
    // RESET $8009 -> offset 9: SEI, CLC, XCE, CLD, JML $878000.
    let reset = rom.cpu_to_offset(0x00_8009).unwrap().unwrap();
    assert_eq!(reset, 9);
    assert_eq!(
        rom.read(reset, 8).unwrap(),
        [0x78, 0x18, 0xFB, 0xD8, 0x5C, 0x00, 0x80, 0x87]
    );
    // Native NMI and IRQ vectors.
    assert_eq!(rom.read(0x7FEA, 2).unwrap(), 0x8000u16.to_le_bytes());
    assert_eq!(rom.read(0x7FEE, 2).unwrap(), 0x801Eu16.to_le_bytes());
    // The word-sum pitfall.
    let word_sum = bytes.chunks(2).fold(0u16, |acc, w| {
        acc.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    assert_eq!(word_sum, 0xA786);
    assert!(!rom.is_stale().unwrap());
}

#[test]
fn copier_header_is_sliced_off() {
    let mut bytes = vec![0xAAu8; 512];
    bytes.extend(fixture("lorom-template.sfc"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headered.smc");
    std::fs::write(&path, &bytes).unwrap();
    let rom = RomFile::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(rom.copier_header(), 512);
    assert_eq!(rom.size(), 262_144);
    let h = rom.header().unwrap();
    assert_eq!((h.offset, h.score, h.checksum_valid), (0x7FC0, 11, true));
    assert_eq!(rom.read(9, 1).unwrap(), [0x78]);
    // Headered and clean copies share the content hash: XXH3-128 of the ROM bytes.
    let clean = open("lorom-template.sfc");
    assert_eq!(rom.content_hash().unwrap(), clean.content_hash().unwrap());
    assert_eq!(
        clean.content_hash().unwrap(),
        xxhash_rust::xxh3::xxh3_128(&fixture("lorom-template.sfc"))
    );
}

#[test]
fn pvsneslib_and_dizworld_headers() {
    let rom = open("pvsneslib_hello_world.sfc");
    let h = rom.header().unwrap();
    assert_eq!(
        (h.title.as_str(), h.mapping, h.map_mode),
        ("HELLO_WORLD", Mapping::LoRom, 0x20)
    );
    assert_eq!(
        (h.complement, h.checksum, h.checksum_valid),
        (0xFB5F, 0x04A0, true)
    );
    assert_eq!((h.reset_vector, h.score, h.developer_id), (0x80B7, 11, 0));
    assert_eq!(h.maker_code, None);
    assert_eq!(
        rom.read(rom.cpu_to_offset(0x80B7).unwrap().unwrap(), 2)
            .unwrap(),
        [0x78, 0x18]
    );

    let rom = open("dizworld.sfc");
    let h = rom.header().unwrap();
    assert_eq!(h.title, "DIZWORLD MODE 7 DEMO");
    assert_eq!(
        (h.offset, h.location, h.mapping),
        (0xFFC0, Location::Hi, Mapping::HiRom)
    );
    assert_eq!((h.map_mode, h.fast_rom), (0x31, true));
    assert_eq!(
        (h.complement, h.checksum, h.checksum_valid),
        (0x98EB, 0x6714, true)
    );
    assert_eq!((h.reset_vector, h.score), (0xFFAD, 11));
    assert_eq!(rom.cpu_to_offset(0x00_FFAD).unwrap(), Some(0xFFAD));
    assert_eq!(rom.cpu_to_offset(0xC0_0000).unwrap(), Some(0));
    assert_eq!(rom.offset_to_cpu(0xFFAD).unwrap(), Some(0xC0_FFAD));
    assert_eq!(rom.read(0xFFAD, 3).unwrap(), [0x78, 0x18, 0xFB]);
    let lo = &rom.header_candidates()[0];
    assert_eq!((lo.location, lo.score), (Location::Lo, 0));
}

#[test]
fn hirom_beats_a_decoy_at_the_lorom_location() {
    // dizworld with a decoy at 0x7FC0: printable title, valid pair EDCB/1234, map $21, RESET 0,
    // size byte 0 -> 5 points; the real HiROM header 11.
    let mut bytes = fixture("dizworld.sfc");
    bytes[0x7FC0..0x7FD5].copy_from_slice(b"DECOY HEADER         ");
    bytes[0x7FD5] = 0x21;
    bytes[0x7FD7] = 0;
    bytes[0x7FDC..0x7FE0].copy_from_slice(&[0xCB, 0xED, 0x34, 0x12]);
    bytes[0x7FFC..0x7FFE].copy_from_slice(&[0, 0]);
    let rom = RomFile::from_bytes("decoy", bytes, &OpenOptions::default()).unwrap();
    let scores: Vec<u32> = rom.header_candidates().iter().map(|c| c.score).collect();
    assert_eq!(scores[0], 5);
    assert_eq!(rom.header().unwrap().location, Location::Hi);
    assert_eq!(
        rom.header().unwrap().score,
        10,
        "the decoy broke the checksum"
    );
}

#[test]
fn sa1_is_detected_from_map_mode_or_chipset_at_the_lorom_location() {
    for (map, chipset) in [(0x23u8, 0x00u8), (0x20, 0x35), (0x23, 0x34)] {
        let mut bytes = fixture("lorom-template.sfc");
        bytes[0x7FD5] = map;
        bytes[0x7FD6] = chipset;
        modforge_rom::fix_checksum(&mut bytes, 0x7FC0).unwrap();
        let rom = RomFile::from_bytes("sa1", bytes, &OpenOptions::default()).unwrap();
        let h = rom.header().unwrap();
        assert_eq!(
            (h.offset, h.mapping),
            (0x7FC0, Mapping::Sa1),
            "{map:#x} {chipset:#x}"
        );
        if chipset != 0 {
            assert_eq!(h.coprocessor, Some(Coprocessor::Sa1));
        }
        assert!(h.checksum_valid);
        assert_eq!(rom.cpu_to_offset(0xC0_0009).unwrap(), Some(9));
        assert_eq!(rom.cpu_to_offset(0x40_8000).unwrap(), None, "BW-RAM");
    }
}

#[test]
fn no_header_is_a_result_and_mapping_can_be_forced() {
    let noise: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let rom = RomFile::from_bytes("noise", noise.clone(), &OpenOptions::default()).unwrap();
    assert!(rom.header().is_none());
    assert_eq!(rom.header_candidates().len(), 2);
    assert!(matches!(
        rom.cpu_to_offset(0x808000),
        Err(Error::Format { .. })
    ));
    let forced = OpenOptions {
        mapping: Some(Mapping::LoRom),
        ..OpenOptions::default()
    };
    let rom = RomFile::from_bytes("noise", noise, &forced).unwrap();
    assert_eq!(rom.cpu_to_offset(0x818000).unwrap(), Some(0x8000));
    assert!(matches!(
        rom.cpu_to_offset(0x1_000_000),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn unusable_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sfc");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        RomFile::open(&empty, &OpenOptions::default()),
        Err(Error::Format { offset: 0, .. })
    ));
    let only_header = dir.path().join("header.smc");
    std::fs::write(&only_header, [0u8; 512]).unwrap();
    assert!(matches!(
        RomFile::open(&only_header, &OpenOptions::default()),
        Err(Error::Format { .. })
    ));
    let huge = dir.path().join("huge.sfc");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(modforge_rom::MAX_FILE_SIZE + 1)
        .unwrap();
    assert!(matches!(
        RomFile::open(&huge, &OpenOptions::default()),
        Err(Error::Limit(_))
    ));
    let missing = RomFile::open(&dir.path().join("nope.sfc"), &OpenOptions::default());
    assert!(matches!(missing, Err(Error::Io { op: "open", .. })));
    assert!(RomFile::open(dir.path(), &OpenOptions::default()).is_err());
    let bad_blocks = OpenOptions {
        sa1_blocks: [0, 1, 2, 8],
        ..OpenOptions::default()
    };
    assert!(matches!(
        RomFile::open(&fixtures().join("lorom-template.sfc"), &bad_blocks),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn reads_are_bounds_checked_and_close_waits_then_refuses() {
    let rom = Arc::new(open("lorom-template.sfc"));
    assert!(matches!(
        rom.read(262_140, 5),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        rom.read(u64::MAX, 2),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(rom.read(262_143, 1).unwrap().len(), 1);
    assert_eq!(
        rom.read_pointer(0x7FFC).unwrap(),
        0x00_8009 | (u32::from(rom.read(0x7FFE, 1).unwrap()[0]) << 16)
    );
    // A long call in flight on another thread: close waits for it.
    let worker = {
        let rom = rom.clone();
        std::thread::spawn(move || {
            let offsets: Vec<u64> = (0..20_000).collect();
            rom.extract(&offsets, &Default::default(), &Control::default())
                .map(|r| r.len())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    rom.close();
    assert!(rom.is_closed());
    let finished = worker.join().unwrap();
    assert!(finished.is_err() || finished.unwrap() == 20_000);
    assert!(matches!(rom.read(0, 1), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        rom.decode_at(0, false),
        Err(Error::InvalidArgument(_))
    ));
    rom.close();
}

#[test]
fn staleness_follows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rom.sfc");
    std::fs::write(&path, fixture("lorom-template.sfc")).unwrap();
    let rom = RomFile::open(&path, &OpenOptions::default()).unwrap();
    assert!(!rom.is_stale().unwrap());
    // Truncating the file under an open ROM is harmless: the image is in memory.
    std::fs::write(&path, b"x").unwrap();
    assert!(rom.is_stale().unwrap());
    assert_eq!(rom.read(0x7FC0, 4).unwrap(), b"PINO");
    assert_eq!(rom.header().unwrap().title, "PINO'S LOROM TEMPLATE");
    std::fs::remove_file(&path).unwrap();
    assert!(rom.is_stale().unwrap());
}

#[test]
fn patching_writes_a_copy_with_a_fixed_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("rom.sfc");
    let mut headered = vec![0x55u8; 512];
    headered.extend(fixture("lorom-template.sfc"));
    std::fs::write(&src, &headered).unwrap();
    let rom = RomFile::open(&src, &OpenOptions::default()).unwrap();
    let dest = dir.path().join("patched.sfc");
    let report = rom
        .patch_to(&[(0x20000, &[1, 2, 3, 4][..])], &dest, &Control::default())
        .unwrap();
    assert_eq!(report.bytes, 262_144 + 512);
    let (sum, complement) = report.checksum.unwrap();
    assert_eq!(sum ^ complement, 0xFFFF);
    let written = std::fs::read(&dest).unwrap();
    assert_eq!(&written[..512], &[0x55; 512]);
    assert_eq!(&written[512 + 0x20000..512 + 0x20004], &[1, 2, 3, 4]);
    assert_eq!(modforge_rom::checksum(&written[512..]), sum);
    let reopened = RomFile::open(&dest, &OpenOptions::default()).unwrap();
    assert!(reopened.header().unwrap().checksum_valid);
    // The source is untouched, the open image too.
    assert_eq!(std::fs::read(&src).unwrap(), headered);
    assert_eq!(
        rom.read(0x20000, 4).unwrap(),
        headered[512 + 0x20000..512 + 0x20004]
    );
    assert!(matches!(
        rom.patch_to(&[(262_143, &[1, 2][..])], &dest, &Control::default()),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn font_sheet_glyphs_and_index_sheet() {
    let font = fixture("GFX_Font_4BPP_Gradation.bin");
    let sheet = gfx::decode_tiles(&font, TileFormat::Bpp4, 16).unwrap();
    assert_eq!(
        (sheet.width, sheet.height, sheet.tiles, sheet.partial_tile),
        (128, 64, 128, false)
    );
    assert_eq!(
        sha256(&sheet.indices),
        "da23bc309bc0fcea18ce0e74487d7a61b90a4bb629cb0d4021ad4abe5ab44baf"
    );
    let mut histogram = [0u32; 16];
    for &i in &sheet.indices {
        histogram[usize::from(i)] += 1;
    }
    assert_eq!(
        histogram
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (i, *n))
            .collect::<Vec<_>>(),
        [(0, 3862), (1, 2816), (2, 741), (4, 505), (5, 268)]
    );
    // Tile 0x41 = "A": its bytes and its rows.
    assert_eq!(
        &font[0x41 * 32..0x42 * 32],
        common::hex("7E 00 C3 3C 99 66 99 66 81 00 99 00 FF 00 FF 00 00 00 00 00 00 00 00 00 7E 00 66 00 66 00 00 00").as_slice()
    );
    let rows = [
        "01111110", "11222211", "12211221", "12211221", "14444441", "14411441", "15511551",
        "11111111",
    ];
    let tile = 0x41usize;
    let (tx, ty) = ((tile % 16) * 8, (tile / 16) * 8);
    for (y, row) in rows.iter().enumerate() {
        let got: String = (0..8)
            .map(|x| char::from(b'0' + sheet.indices[(ty + y) * 128 + tx + x]))
            .collect();
        assert_eq!(&got, row, "row {y} of 'A'");
    }
    // Tiles 0x00-0x20 and 0x7F are empty, "!" (0x21) is not; 95 distinct tiles.
    let tiles: Vec<&[u8]> = font.chunks(32).collect();
    assert!(
        tiles[..0x21]
            .iter()
            .chain([&tiles[0x7F]])
            .all(|t| t.iter().all(|&b| b == 0))
    );
    assert!(tiles[0x21].iter().any(|&b| b != 0));
    let distinct: std::collections::HashSet<&[u8]> = tiles.iter().copied().collect();
    assert_eq!(distinct.len(), 95);
    // And back to the same bytes.
    assert_eq!(
        gfx::encode_tiles(&sheet.indices, 128, 64, TileFormat::Bpp4, None).unwrap(),
        font
    );
}

#[test]
fn cgram_colours_and_the_rendered_sheet() {
    let cgram = fixture("Palette_Main.bin");
    assert_eq!(
        sha256(&cgram),
        "6513d06005a4ae602965ca8fd65f1eafc6ce55b2e9ef6a55dcfe3ff5382fe2c0"
    );
    let words: Vec<u16> = cgram
        .chunks(2)
        .map(|w| u16::from_le_bytes([w[0], w[1]]))
        .collect();
    assert_eq!(
        &words[..7],
        &[0x0000, 0x0000, 0x7FFF, 0x4210, 0x7F95, 0x7B2A, 0x76A0]
    );
    assert!(words.iter().all(|w| w & 0x8000 == 0));
    assert!(words[7..16].iter().all(|&w| w == 0x7FFF));
    assert!(words[128..144].iter().all(|&w| w == 0x7FFF), "palette 8");
    let p = Palette::from_cgram(&cgram, 0, 4).unwrap();
    let rgb: Vec<[u8; 3]> = p.colors[..7].iter().map(|c| [c[0], c[1], c[2]]).collect();
    assert_eq!(
        rgb,
        [
            [0, 0, 0],
            [0, 0, 0],
            [255, 255, 255],
            [132, 132, 132],
            [173, 231, 255],
            [82, 206, 247],
            [0, 173, 239]
        ]
    );
    let font = fixture("GFX_Font_4BPP_Gradation.bin");
    let sheet = gfx::decode_tiles(&font, TileFormat::Bpp4, 16).unwrap();
    let rgba = gfx::sheet_to_rgba(&sheet, &p.clone().with_transparency(true));
    assert_eq!(&rgba[..4], &[0, 0, 0, 0]);
    assert_eq!(
        sha256(&rgba),
        "643647766d7d36b2a3014b4789600d46fb5e9baf56e6db01e5cf600a5e72df70"
    );
    // The edited-sprite path: RGBA back to indices and tiles gives the font again.
    let indices =
        gfx::indices_from_rgba(&rgba, &p.with_transparency(true), gfx::Match::Exact).unwrap();
    // Index 1 is black like index 0's colour; the sheet's black pixels map to the first match.
    let tiles = gfx::encode_tiles(&indices, 128, 64, TileFormat::Bpp4, None).unwrap();
    let again = gfx::decode_tiles(&tiles, TileFormat::Bpp4, 16).unwrap();
    assert_eq!(
        gfx::sheet_to_rgba(
            &again,
            &Palette::from_cgram(&cgram, 0, 4)
                .unwrap()
                .with_transparency(true)
        ),
        rgba
    );
}

#[test]
fn scanner_score_calibration_on_the_font_sheet() {
    let font = fixture("GFX_Font_4BPP_Gradation.bin");
    // inhal's streams of the font each hold one 1,024-byte fill (E7 FF 00): maxShare 0.25.
    let p = modforge_rom::score(&font, 1024);
    assert_eq!(p.coherence, 3218.0 / 5264.0);
    assert_eq!(p.unique, 95.0 / 128.0);
    assert_eq!(p.empty, 34.0 / 128.0);
    assert_eq!(p.max_share, 0.25);
    assert!((p.score - 0.9625).abs() < 1e-12, "{}", p.score);
    // Our greedy stream of the font is found by the scanner with its own largest command.
    let stream = modforge_rom::hal::encode(&font, modforge_rom::hal::Mode::Greedy).unwrap();
    let mut image = vec![0xFFu8; 0x8000];
    image[0x1234..0x1234 + stream.len()].copy_from_slice(&stream);
    let hits = modforge_rom::scan_bytes(&image, &Default::default(), &Control::default()).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].offset, hits[0].consumed, hits[0].size),
        (0x1234, stream.len(), 4096)
    );
    assert!(hits[0].score > 0.95);
}

/// Opt-in: Kirby Super Star (USA), headerless, named by `MODFORGE_TEST_ROM` (a commercial ROM,
/// never committed). Run with `MODFORGE_TEST_ROM=/path cargo test -p modforge-rom -- --ignored`;
/// the file must match the cartridge's SHA-256, and is checked as SA-1 with its GFX pointer table
/// at `$FF:0002`.
#[test]
#[ignore = "needs a commercial ROM (Kirby Super Star, USA) named by MODFORGE_TEST_ROM"]
fn commercial_rom_kirby_super_star() {
    let path = std::env::var_os("MODFORGE_TEST_ROM")
        .expect("MODFORGE_TEST_ROM must name the Kirby Super Star (USA) ROM");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        sha256(&bytes),
        "4e095fbbdec4a16b075d7140385ff68b259870ca9e3357f076dfff7f3d1c4a62",
        "MODFORGE_TEST_ROM is not Kirby Super Star (USA), headerless"
    );
    let rom = RomFile::open(std::path::Path::new(&path), &OpenOptions::default()).unwrap();
    let h = rom.header().unwrap();
    assert_eq!(
        (h.offset, h.mapping, h.map_mode),
        (0x7FC0, Mapping::Sa1, 0x23)
    );
    assert_eq!(rom.cpu_to_offset(0xFF_0002).unwrap(), Some(0x3F_0002));
    assert!(h.checksum_valid);
}

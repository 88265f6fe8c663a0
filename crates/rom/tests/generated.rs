//! The generated ROM set (modforge-gen): every manifest fact is matched by the header, the
//! extraction and the scanner; the scan is identical for every thread count and chunk size.

use modforge_core::Control;
use modforge_gen::rom::{Layout, Manifest, RomSpec, default_set, generate};
use modforge_rom::{ExtractOptions, Mapping, OpenOptions, RomFile, ScanOptions};

const SEED: u64 = 0x5EED_0005;

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn open(image: Vec<u8>, name: &str) -> RomFile {
    RomFile::from_bytes(name, image, &OpenOptions::default()).unwrap()
}

fn check_info(rom: &RomFile, m: &Manifest) {
    assert_eq!(rom.size() as usize, m.size, "{}", m.file);
    assert_eq!(rom.copier_header() as usize, m.copier_header);
    assert_eq!(format!("{:032x}", rom.content_hash().unwrap()), m.xxh3);
    match &m.mapping {
        None => assert!(rom.header().is_none(), "{}: no header expected", m.file),
        Some(mapping) => {
            let h = rom.header().unwrap_or_else(|| panic!("{}: header", m.file));
            assert_eq!(Some(h.mapping), Mapping::parse(mapping));
            assert_eq!(Some(h.map_mode), m.map_mode);
            assert_eq!(Some(h.chipset), m.chipset);
            assert_eq!(Some(h.offset), m.header_offset);
            assert_eq!(Some(h.checksum), m.checksum);
            assert_eq!(Some(h.complement), m.complement);
            assert_eq!(Some(h.reset_vector), m.reset_vector);
            assert!(h.checksum_valid, "{}", m.file);
            assert_eq!(h.score, 11, "{}", m.file);
            // The pointer table resolves to the blocks.
            let table = m.pointer_table.as_ref().unwrap();
            let listed: Vec<_> = m.blocks.iter().filter(|b| b.in_table).collect();
            assert_eq!(listed.len(), table.count);
            for (i, block) in listed.iter().enumerate() {
                let cpu = rom.read_pointer(table.offset + 3 * i as u64).unwrap();
                assert_eq!(Some(cpu), block.cpu);
                assert_eq!(rom.cpu_to_offset(cpu).unwrap(), Some(block.offset));
            }
        }
    }
}

fn check_extract(rom: &RomFile, m: &Manifest) {
    let offsets: Vec<u64> = m.blocks.iter().map(|b| b.offset).collect();
    let results = rom
        .extract(&offsets, &ExtractOptions::default(), &Control::default())
        .unwrap();
    for (block, got) in m.blocks.iter().zip(&results) {
        assert_eq!(got.offset, block.offset);
        if block.truncated {
            let err = got.result.as_ref().unwrap_err();
            assert_eq!(err.hal_reason(), Some(modforge_rom::HalReason::Truncated));
            continue;
        }
        let d = got.result.as_ref().unwrap();
        assert_eq!(
            d.consumed, block.compressed_size,
            "{} @{:#x}",
            m.file, block.offset
        );
        assert_eq!(d.data.len(), block.decoded_size);
        assert_eq!(sha256(&d.data), block.decoded_sha256);
    }
}

fn check_scan(rom: &RomFile, m: &Manifest) {
    let hits = rom
        .scan(&ScanOptions::default(), &Control::default())
        .unwrap();
    for block in m.blocks.iter().filter(|b| !b.truncated) {
        let hit = hits.iter().find(|h| h.offset == block.offset);
        let hit =
            hit.unwrap_or_else(|| panic!("{}: block at {:#x} not found", m.file, block.offset));
        assert_eq!(hit.consumed, block.compressed_size);
        assert_eq!(hit.size, block.decoded_size);
    }
}

#[test]
fn the_default_set_matches_its_manifests() {
    for spec in default_set() {
        let generated = generate(&spec, SEED).unwrap();
        assert_eq!(sha256(&generated.image), generated.manifest.sha256);
        let rom = open(generated.image, &spec.file);
        check_info(&rom, &generated.manifest);
        check_extract(&rom, &generated.manifest);
        check_scan(&rom, &generated.manifest);
    }
}

#[test]
fn scan_results_do_not_depend_on_threads_or_chunks() {
    let spec = RomSpec::new("sa1.sfc", Layout::Sa1, 1 << 20, 10);
    let rom = open(generate(&spec, SEED).unwrap().image, "sa1");
    let base = rom
        .scan(
            &ScanOptions {
                threads: Some(1),
                ..ScanOptions::default()
            },
            &Control::default(),
        )
        .unwrap();
    assert!(base.len() >= 10);
    for (threads, chunk) in [(2, 16_384), (8, 4096), (3, 777), (1, 1)] {
        let other = rom
            .scan(
                &ScanOptions {
                    threads: Some(threads),
                    chunk,
                    ..ScanOptions::default()
                },
                &Control::default(),
            )
            .unwrap();
        assert_eq!(other, base, "threads {threads} chunk {chunk}");
    }
}

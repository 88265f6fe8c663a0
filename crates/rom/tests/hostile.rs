//! Hostile input for the header parser, the HAL decoder and the scanner: random bytes,
//! truncation at every offset, bit flips and structure-aware mutation of valid streams and
//! headers. Every call returns a value or an error, never panics, and allocates within a bound
//! measured by a counting global allocator.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use modforge_core::Control;
use modforge_gen::SplitMix64;
use modforge_rom::hal::{self, Mode};
use modforge_rom::{OpenOptions, RomFile, ScanOptions, scan_bytes};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

#[allow(unsafe_code)]
// SAFETY: forwards every call to the system allocator unchanged; it only counts this thread's
// live bytes (reallocation goes through the default alloc + dealloc, so it is counted too).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|l| {
            l.set(l.get() + layout.size());
            let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
        });
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(layout.size())));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated on this thread while `f` runs, above what was live before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// Decoding allocates at most the 64 KiB output window, plus its shrunk copy while the window
/// is released, plus an error message.
const DECODE_BOUND: usize = 2 * 65_536 + 4096;

fn decode_all_ways(stream: &[u8]) {
    for strict in [false, true] {
        let (decoded, peak) = peak_of(|| hal::decode(stream, strict));
        assert!(peak <= DECODE_BOUND, "decode allocated {peak} bytes");
        let length = hal::compressed_length(stream, strict);
        match (&decoded, &length) {
            (Ok(d), Ok(n)) => {
                assert_eq!(d.consumed, *n);
                assert!(d.data.len() <= hal::MAX_OUTPUT);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.hal_reason(), b.hal_reason());
                assert_eq!(a.to_string(), b.to_string());
            }
            _ => panic!("decode and compressed_length disagree on {stream:02x?}"),
        }
    }
}

fn random_bytes(rng: &mut SplitMix64, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

#[test]
fn decoder_on_random_bytes() {
    let mut rng = SplitMix64::new(1);
    for _ in 0..3000 {
        let len = rng.range(0, 600) as usize;
        decode_all_ways(&random_bytes(&mut rng, len));
    }
    // Biased towards command bytes that produce output, so streams run long.
    for _ in 0..300 {
        let len = rng.range(1, 20_000) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 => 0xE7,
                1 => 0xFF,
                2 => rng.below(0xE0) as u8,
                _ => rng.next_u64() as u8,
            })
            .collect();
        decode_all_ways(&bytes);
    }
}

fn valid_streams() -> Vec<Vec<u8>> {
    let font = common::fixture("GFX_Font_4BPP_Gradation.bin");
    let mut out: Vec<Vec<u8>> = [Mode::Fast, Mode::Greedy, Mode::Optimal]
        .iter()
        .map(|&m| hal::encode(&font, m).unwrap())
        .collect();
    out.push(common::fixture("hal/17_low_entropy_4k.mode4.hal"));
    out.push(common::fixture("hal/10_bitrev_copy_1k.mode2.hal"));
    out
}

#[test]
fn decoder_on_truncations_and_bit_flips_of_valid_streams() {
    for stream in valid_streams() {
        for cut in 0..stream.len() {
            let err = hal::decode(&stream[..cut], false).unwrap_err();
            assert_eq!(err.hal_reason(), Some(modforge_rom::HalReason::Truncated));
        }
        let step = (stream.len() / 300).max(1);
        for byte in (0..stream.len()).step_by(step) {
            for bit in 0..8 {
                let mut bad = stream.clone();
                bad[byte] ^= 1 << bit;
                decode_all_ways(&bad);
            }
        }
    }
}

/// Structure-aware mutation: keeps the command framing valid but lies in the fields (lengths,
/// offsets, command numbers), so the decoder's bounds checks are what is exercised.
fn mutate_stream(rng: &mut SplitMix64, stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b0) = stream.get(i) {
        if b0 == 0xFF {
            break;
        }
        let (long, cmd, args) = if b0 & 0xE0 == 0xE0 {
            let len =
                (usize::from(b0 & 3) << 8 | usize::from(*stream.get(i + 1).unwrap_or(&0))) + 1;
            let cmd = (b0 >> 2) & 7;
            (
                true,
                cmd,
                match cmd {
                    0 => len,
                    1 | 3 => 1,
                    _ => 2,
                },
            )
        } else {
            let len = usize::from(b0 & 0x1F) + 1;
            let cmd = b0 >> 5;
            (
                false,
                cmd,
                match cmd {
                    0 => len,
                    1 | 3 => 1,
                    _ => 2,
                },
            )
        };
        let head = if long { 2 } else { 1 };
        let mut piece: Vec<u8> = stream.get(i..i + head + args).unwrap_or_default().to_vec();
        match rng.below(6) {
            0 if piece.len() >= 3 && cmd >= 4 => {
                // Lie about the offset.
                let off = rng.next_u64() as u16;
                let n = piece.len();
                piece[n - 2..].copy_from_slice(&off.to_be_bytes());
            }
            1 if long => piece[1] = rng.next_u64() as u8,
            2 => piece[0] = (piece[0] & 0x1F) | ((rng.below(7) as u8) << 5),
            3 if long => piece[0] = 0xE0 | ((rng.below(8) as u8) << 2) | (piece[0] & 3),
            _ => {}
        }
        out.extend_from_slice(&piece);
        i += head + args;
    }
    if rng.chance(0.8) {
        out.push(0xFF);
    }
    out
}

#[test]
fn decoder_on_structure_aware_mutations() {
    let mut rng = SplitMix64::new(2);
    for stream in valid_streams() {
        for _ in 0..200 {
            decode_all_ways(&mutate_stream(&mut rng, &stream));
        }
    }
}

#[test]
fn encoder_round_trips_random_and_structured_inputs_with_bounded_allocation() {
    let mut rng = SplitMix64::new(3);
    for n in 0..60 {
        let len = rng.range(0, 4096) as usize;
        let input: Vec<u8> = match n % 3 {
            0 => random_bytes(&mut rng, len),
            1 => (0..len)
                .map(|i| (i / rng.range(1, 9) as usize) as u8 & 7)
                .collect(),
            _ => (0..len).map(|_| rng.below(3) as u8).collect(),
        };
        for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
            let (stream, peak) = peak_of(|| hal::encode(&input, mode).unwrap());
            // Tables and suffix arrays: well under 200 bytes per input byte plus a fixed part.
            assert!(
                peak <= 200 * input.len() + 300_000,
                "{mode:?} {} -> {peak}",
                input.len()
            );
            assert_eq!(hal::decode(&stream, true).unwrap().data, input);
        }
    }
}

fn header_image(rng: &mut SplitMix64) -> Vec<u8> {
    let mut rom = common::fixture("lorom-template.sfc");
    // Lie in the header's fields while keeping the framing: size bytes, map modes, vectors.
    let t = 0x7FC0;
    for field in [0x15, 0x16, 0x17, 0x18, 0x1A, 0x3C, 0x3D] {
        if rng.chance(0.5) {
            rom[t + field] = rng.next_u64() as u8;
        }
    }
    if rng.chance(0.5) {
        modforge_rom::fix_checksum(&mut rom, t).unwrap();
    }
    let cut = match rng.below(4) {
        0 => rng.range(1, rom.len() as u64) as usize,
        _ => rom.len(),
    };
    rom.truncate(cut);
    rom
}

#[test]
fn header_parser_on_hostile_images() {
    let mut rng = SplitMix64::new(4);
    for _ in 0..200 {
        let image = header_image(&mut rng);
        let len = image.len();
        let (rom, peak) =
            peak_of(|| RomFile::from_bytes("hostile", image, &OpenOptions::default()));
        let rom = rom.unwrap();
        assert!(peak <= 64 * 1024, "open allocated {peak}");
        let _ = rom.header();
        assert!(rom.size() as usize <= len);
        for addr in [0x00_8000u32, 0xFF_FFFF, 0x7E_0000, 0xC0_0000] {
            let _ = rom.cpu_to_offset(addr);
        }
    }
    for len in [
        1usize, 2, 511, 512, 513, 1023, 1024, 0x7FD0, 0x8000, 0x10000,
    ] {
        let image = random_bytes(&mut rng, len);
        match RomFile::from_bytes("random", image, &OpenOptions::default()) {
            Ok(rom) => {
                let _ = rom.header_candidates();
            }
            Err(e) => assert!(matches!(e, modforge_rom::Error::Format { .. })),
        }
    }
    let lorom = common::fixture("lorom-template.sfc");
    for cut in (1..lorom.len()).step_by(997) {
        let rom =
            RomFile::from_bytes("cut", lorom[..cut].to_vec(), &OpenOptions::default()).unwrap();
        if cut < 0x8000 {
            assert!(rom.header().is_none(), "cut {cut}");
        }
    }
    for byte in 0x7FB0..0x8000 {
        for bit in [0, 3, 7] {
            let mut bad = lorom.clone();
            bad[byte] ^= 1 << bit;
            let rom = RomFile::from_bytes("flip", bad, &OpenOptions::default()).unwrap();
            if let Some(h) = rom.header() {
                assert!(h.score >= modforge_rom::MIN_SCORE);
            }
        }
    }
}

#[test]
fn scanner_on_hostile_bytes() {
    let mut rng = SplitMix64::new(5);
    let options = ScanOptions {
        threads: Some(2),
        ..ScanOptions::default()
    };
    let noise = random_bytes(&mut rng, 65_536);
    let hits = scan_bytes(&noise, &options, &Control::default()).unwrap();
    // Candidates in noise are rare and short.
    assert!(hits.len() < 20, "{} hits in noise", hits.len());
    for hit in &hits {
        let d = hal::decode(&noise[hit.offset as usize..], true).unwrap();
        assert_eq!(d.consumed, hit.consumed);
        assert!(hit.score >= 0.75);
    }
    // Zero padding, FF padding and a stream cut at the end.
    let mut padded = vec![0u8; 200_000];
    padded.extend(vec![0xFF; 10_000]);
    let font = common::fixture("GFX_Font_4BPP_Gradation.bin");
    let stream = hal::encode(&font, Mode::Greedy).unwrap();
    padded.extend_from_slice(&stream[..stream.len() - 1]);
    assert!(
        scan_bytes(&padded, &options, &Control::default())
            .unwrap()
            .is_empty()
    );
    // Bad ranges are argument errors.
    for bad in [
        ScanOptions { step: 0, ..options },
        ScanOptions {
            start: 10,
            end: Some(5),
            ..options
        },
        ScanOptions {
            end: Some(1 << 30),
            ..options
        },
        ScanOptions {
            chunk: 0,
            ..options
        },
    ] {
        assert!(matches!(
            scan_bytes(&noise, &bad, &Control::default()),
            Err(modforge_rom::Error::InvalidArgument(_))
        ));
    }
    // Cancellation stops the scan.
    let cancel = modforge_core::Cancel::new();
    cancel.cancel();
    assert!(matches!(
        scan_bytes(&noise, &options, &Control::cancel(&cancel)),
        Err(modforge_rom::Error::Aborted)
    ));
}

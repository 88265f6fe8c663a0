//! Property tests of the HAL codec: every mode round-trips structured inputs up to 64 KiB
//! (strict decoding, `consumed` equal to the stream length), `optimal` is never larger than
//! `greedy` or `fast`, and `decode` agrees with `compressed_length` on arbitrary bytes.

use modforge_rom::hal::{self, Mode};
use proptest::prelude::*;

/// Pieces that real graphics are made of.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // runs
        (any::<u8>(), 1usize..2000).prop_map(|(v, n)| vec![v; n]),
        // word runs
        (any::<[u8; 2]>(), 1usize..1200).prop_map(|(w, n)| w.repeat(n)),
        // sequences
        (any::<u8>(), 1usize..600)
            .prop_map(|(v, n)| (0..n).map(|k| v.wrapping_add(k as u8)).collect()),
        // random bytes
        prop::collection::vec(any::<u8>(), 1..400),
        // low-entropy tile-like bytes
        prop::collection::vec(
            prop::sample::select(vec![0u8, 0x3C, 0x7E, 0xFF, 0x18]),
            1..800
        ),
    ]
}

fn structured() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((piece(), 0u8..4, any::<u16>()), 0..24).prop_map(|parts| {
        let mut out: Vec<u8> = Vec::new();
        for (p, transform, at) in parts {
            // Repeats, bit-reversed and backwards copies of earlier output.
            let earlier = if out.is_empty() {
                None
            } else {
                let start = usize::from(at) % out.len();
                let len = (out.len() - start).min(700);
                Some(out[start..start + len].to_vec())
            };
            match (transform, earlier) {
                (1, Some(e)) => out.extend(e),
                (2, Some(e)) => out.extend(e.iter().map(|b| b.reverse_bits())),
                (3, Some(e)) => out.extend(e.iter().rev()),
                _ => out.extend(p),
            }
        }
        out.truncate(65_536);
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn every_mode_round_trips(input in structured()) {
        let mut sizes = Vec::new();
        for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
            match hal::encode(&input, mode) {
                Ok(stream) => {
                    let d = hal::decode(&stream, true).unwrap();
                    prop_assert_eq!(&d.data, &input);
                    prop_assert_eq!(d.consumed, stream.len());
                    prop_assert_eq!(d.command_counts[7], 0);
                    prop_assert!(stream.len() < 65_536);
                    sizes.push(stream.len());
                }
                Err(e) => {
                    prop_assert!(matches!(e, modforge_rom::Error::Limit(_)));
                    sizes.push(usize::MAX);
                }
            }
        }
        prop_assert!(sizes[2] <= sizes[1] && sizes[2] <= sizes[0], "{:?}", sizes);
    }

    #[test]
    fn decode_and_compressed_length_agree(bytes in prop::collection::vec(any::<u8>(), 0..3000), strict in any::<bool>()) {
        let d = hal::decode(&bytes, strict);
        let n = hal::compressed_length(&bytes, strict);
        match (d, n) {
            (Ok(d), Ok(n)) => prop_assert_eq!(d.consumed, n),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "{:?} vs {:?}", a.map(|d| d.consumed), b),
        }
    }
}

#[test]
fn large_inputs_round_trip_in_every_mode() {
    // A few full-size inputs: 64 KiB of structured data, exactly 65,536 bytes.
    let font: Vec<u8> = (0..65_536u32)
        .map(|i| {
            let tile = i / 32;
            let row = (i % 32) / 2;
            ((tile * 7 + row * 3) % 11) as u8 * ((i % 5 == 0) as u8)
        })
        .collect();
    for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
        let stream = hal::encode(&font, mode).unwrap();
        assert_eq!(hal::decode(&stream, true).unwrap().data, font, "{mode:?}");
    }
}

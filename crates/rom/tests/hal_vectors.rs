//! The decoder and encoder vectors of docs/rom.md ("Test vectors").

mod common;

use common::hex;
use modforge_rom::HalReason;
use modforge_rom::hal::{self, Mode};

struct Vector {
    stream: &'static str,
    decoded: Result<Vec<u8>, HalReason>,
    consumed: usize,
    strict: Option<HalReason>,
}

fn vectors() -> Vec<Vector> {
    let raw32: Vec<u8> = (0..32).collect();
    let mut v14 = vec![0xAA, 0xBB, 0xCC];
    for k in 0..257 {
        v14.push(v14[1 + k]);
    }
    let mut v15 = vec![0u8; 1024];
    v15.push(1);
    let ok = |s: &'static str, d: &str, c: usize| Vector {
        stream: s,
        decoded: Ok(hex(d)),
        consumed: c,
        strict: None,
    };
    vec![
        ok("03 01 03 03 07 FF", "01 03 03 07", 6),
        ok("21 01 FF", "01 01", 3),
        ok("41 01 02 FF", "01 02 01 02", 4),
        ok("63 00 FF", "00 01 02 03", 3),
        ok("62 FE FF", "FE FF 00", 3),
        ok("61 01 80 00 00 FF", "01 02 01", 6),
        ok("61 01 A0 00 00 FF", "01 02 80", 6),
        ok("61 01 C1 00 01 FF", "01 02 02 01", 6),
        Vector {
            stream: "E6 00 01 FF",
            decoded: Ok(vec![1; 513]),
            consumed: 4,
            strict: None,
        },
        ok("E0 00 41 FF", "41", 4),
        ok("44 34 12 FF", "34 12 34 12 34 12 34 12 34 12", 4),
        ok("02 AA BB CC 83 00 00 FF", "AA BB CC AA BB CC AA", 8),
        Vector {
            stream: "02 AA BB CC FC 03 00 00 FF",
            decoded: Ok(hex("AA BB CC AA BB CC AA")),
            consumed: 9,
            strict: Some(HalReason::BadCommand),
        },
        Vector {
            stream: "02 AA BB CC FD 00 00 01 FF",
            decoded: Ok(v14),
            consumed: 9,
            strict: Some(HalReason::BadCommand),
        },
        Vector {
            stream: "E7 FF 00 E4 00 01 FF",
            decoded: Ok(v15),
            consumed: 7,
            strict: None,
        },
        ok("FF", "", 1),
        Vector {
            stream: "80 FF 00 FF",
            decoded: Ok(vec![0]),
            consumed: 4,
            strict: Some(HalReason::RefToUnwritten),
        },
        Vector {
            stream: "00 11 C0 00 01 FF",
            decoded: Ok(hex("11 00")),
            consumed: 6,
            strict: Some(HalReason::RefToUnwritten),
        },
        Vector {
            stream: "00 11 C2 00 00 FF",
            decoded: Err(HalReason::BadRef),
            consumed: 0,
            strict: Some(HalReason::BadRef),
        },
        Vector {
            stream: "E3 FF 00",
            decoded: Err(HalReason::Truncated),
            consumed: 0,
            strict: Some(HalReason::Truncated),
        },
        Vector {
            stream: Box::leak(
                format!(
                    "1F {} FF",
                    raw32
                        .iter()
                        .map(|b| format!("{b:02X}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
                .into_boxed_str(),
            ),
            decoded: Ok(raw32.clone()),
            consumed: 34,
            strict: None,
        },
    ]
}

#[test]
fn every_decoder_vector_in_both_modes() {
    for (n, v) in vectors().iter().enumerate() {
        let stream = hex(v.stream);
        let compat = hal::decode(&stream, false);
        match &v.decoded {
            Ok(data) => {
                let d = compat.unwrap_or_else(|e| panic!("vector {}: {e}", n + 1));
                assert_eq!(&d.data, data, "vector {}", n + 1);
                assert_eq!(d.consumed, v.consumed, "vector {}", n + 1);
                assert_eq!(hal::compressed_length(&stream, false).unwrap(), v.consumed);
            }
            Err(reason) => {
                assert_eq!(
                    compat.unwrap_err().hal_reason(),
                    Some(*reason),
                    "vector {}",
                    n + 1
                );
                let len = hal::compressed_length(&stream, false).unwrap_err();
                assert_eq!(len.hal_reason(), Some(*reason));
            }
        }
        let strict = hal::decode(&stream, true);
        match v.strict {
            None => {
                let d = strict.unwrap();
                assert_eq!(Ok(&d.data), v.decoded.as_ref(), "vector {} strict", n + 1);
            }
            Some(reason) => {
                assert_eq!(
                    strict.unwrap_err().hal_reason(),
                    Some(reason),
                    "vector {}",
                    n + 1
                );
                assert_eq!(
                    hal::compressed_length(&stream, true)
                        .unwrap_err()
                        .hal_reason(),
                    Some(reason)
                );
            }
        }
    }
}

#[test]
fn command_counts_of_the_vectors() {
    let counts = |s: &str| hal::decode(&hex(s), false).unwrap().command_counts;
    assert_eq!(counts("02 AA BB CC 83 00 00 FF"), [1, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        counts("02 AA BB CC FC 03 00 00 FF"),
        [1, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(counts("E7 FF 00 E4 00 01 FF"), [0, 2, 0, 0, 0, 0, 0, 0]);
    assert_eq!(counts("00 11 C0 00 01 FF"), [1, 0, 0, 0, 0, 0, 1, 0]);
}

#[test]
fn errors_carry_the_offset_of_the_failing_command() {
    let err = hal::decode(&hex("00 11 C2 00 00 FF"), false).unwrap_err();
    assert!(
        matches!(err, modforge_rom::Error::Hal { offset: 2, .. }),
        "{err}"
    );
    let err = hal::decode(&hex("02 AA BB CC FC 03 00 00 FF"), true).unwrap_err();
    assert!(matches!(err, modforge_rom::Error::Hal { offset: 4, .. }));
    let err = hal::decode(&hex("E3 FF 00"), false).unwrap_err();
    assert!(matches!(err, modforge_rom::Error::Hal { offset: 0, .. }));
    // A stream without its terminator is truncated at the position where FF was expected.
    let err = hal::decode(&hex("21 01"), false).unwrap_err();
    assert!(matches!(
        err,
        modforge_rom::Error::Hal {
            offset: 2,
            reason: HalReason::Truncated,
            ..
        }
    ));
}

#[test]
fn output_limit_is_exactly_64_kib() {
    // 64 long byte fills of 1024 = 65,536 bytes: allowed.
    let mut stream = Vec::new();
    for _ in 0..64 {
        stream.extend_from_slice(&[0xE7, 0xFF, 0x00]);
    }
    stream.push(0xFF);
    let d = hal::decode(&stream, true).unwrap();
    assert_eq!(d.data.len(), 65_536);
    // One more byte is refused, before the command runs.
    let mut over = stream.clone();
    over.pop();
    over.extend_from_slice(&[0x20, 0x00, 0xFF]);
    let err = hal::decode(&over, false).unwrap_err();
    assert_eq!(err.hal_reason(), Some(HalReason::OutputTooLarge));
    assert!(matches!(err, modforge_rom::Error::Hal { offset: 192, .. }));
    // The word fill's 2L is what is checked: 65,535 bytes then one pair.
    let mut words = Vec::new();
    for _ in 0..63 {
        words.extend_from_slice(&[0xE7, 0xFF, 0x00]);
    }
    words.extend_from_slice(&[0xE7, 0xFE, 0x00, 0x40, 0x01, 0x02, 0xFF]);
    assert_eq!(
        hal::decode(&words, false).unwrap_err().hal_reason(),
        Some(HalReason::OutputTooLarge)
    );
    // 65,536 zeros in inhal's form decode back.
    let mut zeros = Vec::new();
    for _ in 0..32 {
        zeros.extend_from_slice(&[0xEB, 0xFF, 0x00, 0x00]);
    }
    zeros.push(0xFF);
    assert_eq!(hal::decode(&zeros, true).unwrap().data, vec![0; 65_536]);
}

#[test]
fn compat_refs_read_zero_never_stale_bytes() {
    // A forward ref into unwritten output after other output exists.
    let d = hal::decode(&hex("02 AA BB CC 82 00 10 FF"), false).unwrap();
    assert_eq!(d.data, hex("AA BB CC 00 00 00"));
    let d = hal::decode(&hex("02 AA BB CC A2 00 10 FF"), false).unwrap();
    assert_eq!(d.data, hex("AA BB CC 00 00 00"));
    // Backwards from just past the write position: the first bytes are unwritten (0), then the
    // reads fall below the write position and see the bytes written so far.
    let d = hal::decode(&hex("02 AA BB CC C3 00 04 FF"), false).unwrap();
    // out[3] = at(4) = 0; out[4] = at(3) = out[3] = 0; out[5] = at(2) = CC; out[6] = at(1) = BB
    assert_eq!(d.data, hex("AA BB CC 00 00 CC BB"));
    // Decoding again after a larger decode gives the same bytes (no buffer reuse).
    let _ = hal::decode(&hex("E7 FF 55 FF"), false).unwrap();
    let again = hal::decode(&hex("80 FF 00 FF"), false).unwrap();
    assert_eq!(again.data, vec![0]);
}

struct EncoderVector {
    input: Vec<u8>,
    greedy: &'static str,
    fast: Option<&'static str>,
}

fn encoder_vectors() -> Vec<EncoderVector> {
    let seq = |lo: u8, hi: u8| (lo..=hi).collect::<Vec<u8>>();
    let a = hex("01 03 03 03 03 03 07");
    vec![
        EncoderVector {
            input: vec![],
            greedy: "FF",
            fast: None,
        },
        EncoderVector {
            input: vec![1; 15],
            greedy: "2E 01 FF",
            fast: None,
        },
        EncoderVector {
            input: [1, 2].repeat(7),
            greedy: "46 01 02 FF",
            fast: None,
        },
        EncoderVector {
            input: seq(1, 15),
            greedy: "6E 01 FF",
            fast: Some("0E 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F FF"),
        },
        EncoderVector {
            input: vec![1; 513],
            greedy: "E6 00 01 FF",
            fast: None,
        },
        EncoderVector {
            input: seq(0, 0x27),
            greedy: "EC 27 00 FF",
            fast: None,
        },
        EncoderVector {
            input: a.repeat(3),
            greedy: "00 01 24 03 00 07 8D 00 00 FF",
            fast: None,
        },
        EncoderVector {
            input: hex("01 03 03 03 03 03 07 80 C0 C0 C0 C0 C0 E0 80 C0 C0 C0 C0 C0 E0"),
            greedy: "00 01 24 03 00 07 A6 00 00 86 00 07 FF",
            fast: Some("00 01 24 03 01 07 80 24 C0 00 E0 86 00 07 FF"),
        },
        EncoderVector {
            input: hex("01 03 03 03 03 03 07 07 03 03 03 03 03 01 07 03 03 03 03 03 01"),
            greedy: "00 01 24 03 00 07 C6 00 06 86 00 07 FF",
            fast: Some("00 01 24 03 01 07 07 24 03 00 01 86 00 07 FF"),
        },
        EncoderVector {
            input: vec![0; 65_536],
            greedy: Box::leak("EB FF 00 00 ".repeat(32).into_boxed_str()),
            fast: None,
        },
    ]
}

#[test]
fn encoder_vectors_round_trip_and_optimal_is_never_longer_than_inhal() {
    for v in encoder_vectors() {
        let inhal = hex(&format!("{} FF", v.greedy.trim_end_matches(" FF").trim()));
        let inhal = if v.greedy == "FF" { vec![0xFF] } else { inhal };
        // inhal's own streams decode to the input (strict too).
        assert_eq!(hal::decode(&inhal, true).unwrap().data, v.input);
        if let Some(fast) = v.fast {
            assert_eq!(hal::decode(&hex(fast), true).unwrap().data, v.input);
        }
        for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
            let ours = hal::encode(&v.input, mode).unwrap();
            let back = hal::decode(&ours, true).unwrap();
            assert_eq!(back.data, v.input, "{mode:?}");
            assert_eq!(back.consumed, ours.len());
            assert_eq!(back.command_counts[7], 0);
        }
        let optimal = hal::encode(&v.input, Mode::Optimal).unwrap();
        assert!(
            optimal.len() <= inhal.len(),
            "optimal {} > inhal {} for {:02X?}",
            optimal.len(),
            inhal.len(),
            &v.input[..v.input.len().min(24)]
        );
    }
}

#[test]
fn simple_inputs_encode_to_inhals_exact_streams() {
    assert_eq!(hal::encode(&[], Mode::Optimal).unwrap(), [0xFF]);
    assert_eq!(
        hal::encode(&[1; 15], Mode::Greedy).unwrap(),
        hex("2E 01 FF")
    );
    assert_eq!(
        hal::encode(&[1; 513], Mode::Optimal).unwrap(),
        hex("E6 00 01 FF")
    );
    assert_eq!(
        hal::encode(&[1, 2].repeat(7), Mode::Fast).unwrap(),
        hex("46 01 02 FF")
    );
    let seq: Vec<u8> = (0..=0x27).collect();
    assert_eq!(
        hal::encode(&seq, Mode::Optimal).unwrap(),
        hex("EC 27 00 FF")
    );
}

#[test]
fn inputs_over_64_kib_and_incompressible_64_kib_are_limit_errors() {
    let err = hal::encode(&vec![0; 65_537], Mode::Fast).unwrap_err();
    assert!(matches!(err, modforge_rom::Error::Limit(_)), "{err}");
    let mut state = 1u64;
    let noise: Vec<u8> = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
        let err = hal::encode(&noise, mode).unwrap_err();
        assert!(
            matches!(err, modforge_rom::Error::Limit(_)),
            "{mode:?}: {err}"
        );
    }
    // 40 KiB of noise (where inhal's shortest-path modes write a lone FF) encodes correctly.
    let part = &noise[..40 * 1024];
    for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
        let out = hal::encode(part, mode).unwrap();
        assert!(out.len() > 40 * 1024 && out.len() < 65_536);
        assert_eq!(hal::decode(&out, true).unwrap().data, part);
    }
}

#[test]
fn overlapping_bit_reversed_copies_read_their_own_output() {
    // 01 then a reversed copy of 3 from offset 0: 80 (rev 01), 01 (rev 80), 80.
    let d = hal::decode(&hex("00 01 A2 00 00 FF"), true).unwrap();
    assert_eq!(d.data, hex("01 80 01 80"));
}

//! The inhal corpus (shared fixtures `rom/hal/`) and the font sheet's golden streams: our decoder
//! reproduces every input from every inhal stream, our encoder round-trips every input in every
//! mode, and `optimal` is never larger than inhal's shortest-path mode (-4).

mod common;

use common::{fixture, fixtures, sha256};
use modforge_rom::hal::{self, Mode};

struct Entry {
    file: String,
    sha256: String,
    /// (inhal mode, stream file, size)
    streams: Vec<(u32, String, usize)>,
}

fn corpus() -> Vec<Entry> {
    let text = std::fs::read_to_string(fixtures().join("hal/manifest.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Entry {
            file: e["file"].as_str().unwrap().to_string(),
            sha256: e["sha256"].as_str().unwrap().to_string(),
            streams: e["streams"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(mode, s)| {
                    (
                        mode.parse().unwrap(),
                        s["file"].as_str().unwrap().to_string(),
                        s["size"].as_u64().unwrap() as usize,
                    )
                })
                .collect(),
        })
        .collect()
}

#[test]
fn the_corpus_has_twenty_inputs_and_the_broken_case() {
    let c = corpus();
    assert_eq!(c.len(), 20);
    let random = c.iter().find(|e| e.file == "13_random_64k.bin").unwrap();
    assert!(random.streams.is_empty(), "inhal fails on 64 KiB of noise");
    assert_eq!(c.iter().map(|e| e.streams.len()).sum::<usize>(), 76);
}

#[test]
fn our_decoder_reproduces_every_input_from_every_inhal_stream() {
    for entry in corpus() {
        let input = fixture(&format!("hal/{}", entry.file));
        assert_eq!(sha256(&input), entry.sha256, "{}", entry.file);
        for (mode, file, size) in &entry.streams {
            let stream = fixture(&format!("hal/{file}"));
            assert_eq!(stream.len(), *size);
            for strict in [false, true] {
                let d = hal::decode(&stream, strict).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(d.data, input, "{file} mode {mode} strict {strict}");
                assert_eq!(d.consumed, stream.len());
                assert_eq!(
                    hal::compressed_length(&stream, strict).unwrap(),
                    stream.len()
                );
                assert_eq!(d.command_counts[7], 0, "inhal never writes FC-FE");
            }
        }
    }
}

#[test]
fn our_encoder_round_trips_every_input_and_optimal_beats_inhal() {
    let mut inhal4_total = 0usize;
    let mut optimal_total = 0usize;
    let mut report = String::new();
    for entry in corpus() {
        let input = fixture(&format!("hal/{}", entry.file));
        let mut sizes = Vec::new();
        for mode in [Mode::Fast, Mode::Greedy, Mode::Optimal] {
            match hal::encode(&input, mode) {
                Ok(stream) => {
                    let back = hal::decode(&stream, true).unwrap();
                    assert_eq!(back.data, input, "{} {mode:?}", entry.file);
                    assert_eq!(back.consumed, stream.len());
                    sizes.push(stream.len());
                }
                Err(err) => {
                    // Only where inhal itself cannot produce a correct stream.
                    assert!(entry.streams.is_empty(), "{} {mode:?}: {err}", entry.file);
                    assert!(matches!(err, modforge_rom::Error::Limit(_)), "{err}");
                }
            }
        }
        let inhal = |m: u32| entry.streams.iter().find(|s| s.0 == m).map(|s| s.2);
        if let (Some(&optimal), Some(mode4)) = (sizes.get(2), inhal(4)) {
            assert!(
                optimal <= mode4,
                "{}: optimal {optimal} > inhal -4 {mode4}",
                entry.file
            );
            assert!(optimal <= inhal(2).unwrap_or(usize::MAX));
            inhal4_total += mode4;
            optimal_total += optimal;
        }
        report.push_str(&format!(
            "{} ours {sizes:?} inhal {:?}\n",
            entry.file,
            entry.streams.iter().map(|s| s.2).collect::<Vec<_>>()
        ));
    }
    println!("{report}optimal total {optimal_total} vs inhal -4 total {inhal4_total}");
    assert!(optimal_total < inhal4_total);
}

#[test]
fn the_font_sheets_golden_streams() {
    let font = fixture("GFX_Font_4BPP_Gradation.bin");
    assert_eq!(
        sha256(&font),
        "9255abaacbd0495e3306aa7deb30677138e40ae795112e2cd53bddc61d3f01a1"
    );
    // inhal's four streams of the font, rebuilt from their command counts and sizes: ours.
    let optimal = hal::encode(&font, Mode::Optimal).unwrap();
    assert!(
        optimal.len() <= 1_248,
        "optimal {} > inhal -4 1,248",
        optimal.len()
    );
    let greedy = hal::encode(&font, Mode::Greedy).unwrap();
    let fast = hal::encode(&font, Mode::Fast).unwrap();
    println!(
        "font: fast {} greedy {} optimal {} (inhal 1,430 / 1,285 / 1,395 / 1,248)",
        fast.len(),
        greedy.len(),
        optimal.len()
    );
    for stream in [&optimal, &greedy, &fast] {
        assert_eq!(hal::decode(stream, true).unwrap().data, font);
    }
}

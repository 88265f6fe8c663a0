//! Benchmark harness of the ROM reader (docs/rom.md, "Performance"). Run with
//! `cargo run --release -p modforge-rom --example rom_bench`. Prints the machine, data sizes and
//! cache state with every figure; peers in the same run are a plain memory copy (decode floor)
//! and inhal's stream sizes from the shared corpus (when `../shared/fixtures/rom/hal` exists).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use modforge_core::Control;
use modforge_gen::rom::{Layout, RomSpec, generate};
use modforge_rom::hal::{self, Mode};
use modforge_rom::{
    ExtractOptions, OpenOptions, RomFile, ScanOptions, ThumbnailOptions, ThumbnailRequest,
};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn write_rom(dir: &Path, spec: &RomSpec) -> (PathBuf, modforge_gen::rom::Manifest) {
    let g = generate(spec, 2026).expect("generate");
    let path = dir.join(&spec.file);
    std::fs::write(&path, &g.image).expect("write");
    (path, g.manifest)
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("machine: {cpus} cores, {model}; page cache warm (files just written)");
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. Open a 4 MiB ROM.
    let mut spec4 = RomSpec::new("sa1-4m.sfc", Layout::Sa1, 4 << 20, 120);
    spec4.block_tiles = Some(128);
    let (path4, manifest4) = write_rom(dir.path(), &spec4);
    let opens: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let rom = RomFile::open(&path4, &OpenOptions::default()).expect("open");
            let d = t.elapsed();
            drop(rom);
            d
        })
        .collect();
    println!(
        "open 4 MiB SA-1 ROM (read + header scoring + checksum): median {:.3} ms (target < 1 ms)",
        ms(median(opens))
    );

    // 2. Decode throughput vs a plain copy of the same output size.
    let rom4 = RomFile::open(&path4, &OpenOptions::default()).expect("open");
    let mut streams: Vec<(String, Vec<u8>)> = manifest4
        .blocks
        .iter()
        .take(20)
        .map(|b| {
            (
                format!("generated @{:#x}", b.offset),
                rom4.read(b.offset, b.compressed_size as u64).expect("read"),
            )
        })
        .collect();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/rom/hal");
    let manifest: Option<serde_json::Value> = std::fs::read_to_string(corpus.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if let Some(m) = &manifest {
        for e in m["inputs"].as_array().into_iter().flatten() {
            for (mode, s) in e["streams"].as_object().into_iter().flatten() {
                if mode == "2" {
                    if let Ok(bytes) = std::fs::read(corpus.join(s["file"].as_str().unwrap_or("")))
                    {
                        streams.push((
                            format!("corpus {}", e["file"].as_str().unwrap_or("")),
                            bytes,
                        ));
                    }
                }
            }
        }
    }
    let mut total_out = 0usize;
    let mut decode_time = Duration::ZERO;
    let mut copy_time = Duration::ZERO;
    for (_, stream) in &streams {
        let out = hal::decode(stream, false).expect("decode");
        let reps = (2_000_000 / out.data.len().max(1)).clamp(20, 20_000);
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(hal::decode(std::hint::black_box(stream), false).expect("decode"));
        }
        decode_time += t.elapsed();
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(std::hint::black_box(&out.data).to_vec());
        }
        copy_time += t.elapsed();
        total_out += out.data.len() * reps;
    }
    let mbs = |d: Duration| total_out as f64 / d.as_secs_f64() / 1e6;
    println!(
        "HAL decode ({} streams, output allocated per call): {:.0} MB/s of output; plain copy of the same sizes {:.0} MB/s; ratio {:.2}x (target within 3x)",
        streams.len(),
        mbs(decode_time),
        mbs(copy_time),
        decode_time.as_secs_f64() / copy_time.as_secs_f64()
    );

    // 3. Encode size and time per mode next to inhal.
    if let Some(m) = &manifest {
        println!("encode (ours fast / greedy / optimal vs inhal -1 / -2 / -3 / -4), bytes and ms:");
        let mut totals = [0usize; 3];
        let mut inhal4 = 0usize;
        for e in m["inputs"].as_array().into_iter().flatten() {
            let file = e["file"].as_str().unwrap_or("");
            let Ok(input) = std::fs::read(corpus.join(file)) else {
                continue;
            };
            let inhal: Vec<u64> = (1..=4)
                .filter_map(|k| e["streams"][k.to_string()]["size"].as_u64())
                .collect();
            let mut row = Vec::new();
            for (i, mode) in [Mode::Fast, Mode::Greedy, Mode::Optimal]
                .into_iter()
                .enumerate()
            {
                let t = Instant::now();
                let r = hal::encode(&input, mode);
                let d = t.elapsed();
                match r {
                    Ok(s) => {
                        row.push(format!("{} ({:.2} ms)", s.len(), ms(d)));
                        if inhal.len() == 4 {
                            totals[i] += s.len();
                        }
                    }
                    Err(_) => row.push(format!("limit ({:.2} ms)", ms(d))),
                }
            }
            if inhal.len() == 4 {
                inhal4 += inhal[3] as usize;
            }
            println!("  {file:<28} {} | inhal {inhal:?}", row.join(" / "));
        }
        println!(
            "  totals where inhal succeeded: fast {} greedy {} optimal {} vs inhal -4 {} ({:+.2}%)",
            totals[0],
            totals[1],
            totals[2],
            inhal4,
            (totals[2] as f64 / inhal4 as f64 - 1.0) * 100.0
        );
    }

    // 4. 100 thumbnails, L1 cold, no L2.
    let rom = RomFile::open(&path4, &OpenOptions::default()).expect("open");
    let requests: Vec<ThumbnailRequest> = manifest4
        .blocks
        .iter()
        .filter(|b| b.decoded_size == 4096)
        .take(100)
        .map(|b| ThumbnailRequest {
            offset: b.offset,
            options: ThumbnailOptions::default(),
        })
        .collect();
    let t = Instant::now();
    let thumbs = rom
        .thumbnails(&requests, &Control::default())
        .expect("thumbnails");
    let d = t.elapsed();
    let ok = thumbs.iter().filter(|r| r.is_ok()).count();
    println!(
        "{} thumbnails of 4 KiB blocks, 128x128 PNG, L1 cold, no L2: {:.1} ms ({ok} ok; target < 50 ms on 2 cores)",
        requests.len(),
        ms(d)
    );

    // 5. Step-1 scan of the 4 MiB ROM.
    let t = Instant::now();
    let hits = rom
        .scan(&ScanOptions::default(), &Control::default())
        .expect("scan");
    let d = t.elapsed();
    let found = manifest4
        .blocks
        .iter()
        .filter(|b| hits.iter().any(|h| h.offset == b.offset))
        .count();
    println!(
        "scan 4 MiB step 1: {:.0} ms, {} hits, {found}/{} generated blocks found (target < 2 s)",
        ms(d),
        hits.len(),
        manifest4.blocks.len()
    );

    // 6. Load run on a 32 MiB ROM: 10 callers x 1,000 extractions.
    let mut spec32 = RomSpec::new("lorom-32m.sfc", Layout::LoRom, 32 << 20, 600);
    spec32.block_tiles = Some(128);
    let (path32, manifest32) = write_rom(dir.path(), &spec32);
    let offsets: Arc<Vec<u64>> = Arc::new(manifest32.blocks.iter().map(|b| b.offset).collect());
    for (label, options) in [
        (
            "memory cache off",
            OpenOptions {
                l1_max_entries: 0,
                ..OpenOptions::default()
            },
        ),
        ("memory cache on", OpenOptions::default()),
    ] {
        let rom = Arc::new(RomFile::open(&path32, &options).expect("open"));
        let callers: Vec<_> = (0..10)
            .map(|c| {
                let rom = rom.clone();
                let offsets = offsets.clone();
                std::thread::spawn(move || {
                    (0..1000)
                        .map(|i| {
                            let offset = offsets[(c * 7919 + i * 31) % offsets.len()];
                            let t = Instant::now();
                            let r = rom
                                .extract(&[offset], &ExtractOptions::default(), &Control::default())
                                .expect("extract");
                            assert!(r[0].result.is_ok());
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut times: Vec<Duration> = callers
            .into_iter()
            .flat_map(|h| h.join().expect("join"))
            .collect();
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        let p99 = times[times.len() * 99 / 100];
        println!(
            "load run, 32 MiB ROM, 10 callers x 1,000 extractions ({label}): mean {:.3} ms, p99 {:.3} ms (SpritePal: 48 ms mean, 125 ms p99)",
            ms(mean),
            ms(p99)
        );
    }

    // 7. RSS over 10 rounds on the 32 MiB ROM.
    let mut rss = Vec::new();
    for _ in 0..10 {
        let rom = RomFile::open(&path32, &OpenOptions::default()).expect("open");
        let r = rom
            .extract(&offsets, &ExtractOptions::default(), &Control::default())
            .expect("extract");
        assert!(r.iter().all(|e| e.result.is_ok()));
        let reqs: Vec<ThumbnailRequest> = offsets
            .iter()
            .take(100)
            .map(|&o| ThumbnailRequest {
                offset: o,
                options: ThumbnailOptions::default(),
            })
            .collect();
        rom.thumbnails(&reqs, &Control::default())
            .expect("thumbnails");
        rom.close();
        drop(rom);
        rss.push(rss_kib());
    }
    println!(
        "RSS after each of 10 rounds (open 32 MiB, extract {} blocks, 100 thumbnails, close), KiB: {:?}; growth rounds 2-10: {} KiB",
        offsets.len(),
        rss,
        rss[9] as i64 - rss[1] as i64
    );
}

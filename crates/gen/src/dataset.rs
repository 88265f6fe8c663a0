//! A seeded generator of CSV data sets with the shape of a real game-data export (docs/store.md,
//! "Generated data sets"): 19 tables with its column and row counts, a version column, ragged rows,
//! duplicated keys, cross-table references, plus quoted fields, one file with a BOM and one with
//! CRLF line ends. The values are synthetic words; nothing of the original data is reproduced.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use modforge_core::{Control, Progress, Stage};

use crate::error::Error;
use crate::rng::SplitMix64;

/// The size of a generated set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The dalle shape: 12,534 data rows, about 595 KB of CSV.
    Dalle,
    /// The same 19 tables with 80 times the rows (about 1M rows, about 48 MB), for scaling.
    Large,
}

impl Scale {
    fn factor(self) -> u32 {
        match self {
            Scale::Dalle => 1,
            Scale::Large => 80,
        }
    }
}

/// One generated CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedTable {
    /// Table name (the file is `<name>.csv`).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Header columns, the version column first.
    pub columns: Vec<String>,
    /// Data rows.
    pub rows: u32,
    /// Rows with unquoted commas in the last column (more fields than the header).
    pub ragged_rows: u32,
    /// Rows whose key repeats an earlier row's key.
    pub duplicate_rows: u32,
    /// True when the file starts with a UTF-8 BOM.
    pub bom: bool,
    /// True when lines end with CRLF.
    pub crlf: bool,
}

/// A generated data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedSet {
    /// The directory holding the CSV files.
    pub dir: PathBuf,
    /// The value of the version column in every row.
    pub version: String,
    /// The tables in the dalle order.
    pub tables: Vec<GeneratedTable>,
    /// Total CSV bytes.
    pub bytes: u64,
}

impl GeneratedSet {
    /// Total data rows.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| u64::from(t.rows)).sum()
    }
}

/// How a column's cells are made.
#[derive(Clone, Copy)]
enum Cell {
    /// The table's key: a unique word or phrase of 4–24 characters.
    Key,
    /// A short word or two.
    Word,
    /// A sentence of 20–120 characters.
    Long,
    /// A key of another (earlier generated) table.
    Ref(&'static str),
    /// `#rrggbb`.
    Hex,
    /// One of a few values.
    Choice(&'static [&'static str]),
    /// `sensitive` in some rows, empty in the others.
    Sensitive,
}

struct Spec {
    name: &'static str,
    columns: &'static [(&'static str, Cell)],
    rows: u32,
    ragged: u32,
    duplicates: u32,
}

const GROUPS: &[&str] = &["classic", "modern", "folk", "abstract", "digital", "naive"];
const POLARITY: &[&str] = &["positive", "negative", "neutral"];
const LANGUAGE: &[&str] = &["plain", "poetic", "formal", "slang"];
const CATEGORY: &[&str] = &["camera", "subject", "scene", "light"];

/// The dalle tables with their counts, in the archive's order (docs/store.md, "Generated data
/// sets").
const SPECS: &[Spec] = &[
    Spec {
        name: "adverbs",
        columns: &[("adverb", Cell::Key), ("definition", Cell::Long)],
        rows: 2937,
        ragged: 2,
        duplicates: 0,
    },
    Spec {
        name: "nouns",
        columns: &[("commonName", Cell::Key), ("family", Cell::Ref("families"))],
        rows: 2902,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "places",
        columns: &[
            ("place", Cell::Key),
            ("cityRegion", Cell::Word),
            ("country", Cell::Word),
        ],
        rows: 1800,
        ragged: 0,
        duplicates: 21,
    },
    Spec {
        name: "adjectives",
        columns: &[("adjective", Cell::Key), ("definition", Cell::Long)],
        rows: 1295,
        ragged: 5,
        duplicates: 0,
    },
    Spec {
        name: "actions",
        columns: &[("action", Cell::Key), ("definition", Cell::Long)],
        rows: 1035,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "families",
        columns: &[
            ("family", Cell::Key),
            ("order", Cell::Ref("orders")),
            ("commonName", Cell::Word),
        ],
        rows: 843,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "occupations",
        columns: &[("occupation", Cell::Key), ("description", Cell::Long)],
        rows: 338,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "orders",
        columns: &[
            ("order", Cell::Key),
            ("class", Cell::Ref("classes")),
            ("commonName", Cell::Word),
        ],
        rows: 327,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "artstyles",
        columns: &[
            ("artisticStyle", Cell::Key),
            ("group", Cell::Choice(GROUPS)),
            ("sensitive", Cell::Sensitive),
            ("description", Cell::Long),
        ],
        rows: 325,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "emotions",
        columns: &[
            ("emotion", Cell::Key),
            ("group", Cell::Choice(GROUPS)),
            ("polarity", Cell::Choice(POLARITY)),
            ("language", Cell::Choice(LANGUAGE)),
            ("description", Cell::Long),
        ],
        rows: 279,
        ragged: 1,
        duplicates: 0,
    },
    Spec {
        name: "colors",
        columns: &[("name", Cell::Key), ("hexValue", Cell::Hex)],
        rows: 139,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "classes",
        columns: &[
            ("class", Cell::Key),
            ("phylum", Cell::Ref("phyla")),
            ("commonName", Cell::Word),
        ],
        rows: 96,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "litstyles",
        columns: &[("literaryStyle", Cell::Key), ("description", Cell::Long)],
        rows: 95,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "phyla",
        columns: &[("phylum", Cell::Key), ("commonName", Cell::Word)],
        rows: 41,
        ragged: 13,
        duplicates: 0,
    },
    Spec {
        name: "viewpoints",
        columns: &[
            ("viewpoint", Cell::Key),
            ("category", Cell::Choice(CATEGORY)),
            ("description", Cell::Long),
        ],
        rows: 31,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "compositions",
        columns: &[
            ("composition", Cell::Key),
            ("category", Cell::Choice(CATEGORY)),
            ("description", Cell::Long),
        ],
        rows: 19,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "tropes",
        columns: &[
            ("trope", Cell::Key),
            ("group", Cell::Choice(GROUPS)),
            ("description", Cell::Long),
        ],
        rows: 16,
        ragged: 0,
        duplicates: 0,
    },
    Spec {
        name: "gazes",
        columns: &[("gaze", Cell::Key)],
        rows: 8,
        ragged: 0,
        duplicates: 3,
    },
    Spec {
        name: "backstyles",
        columns: &[("backgroundStlye", Cell::Key)],
        rows: 8,
        ragged: 0,
        duplicates: 3,
    },
];

/// Tables generated before the others because other tables refer to their keys.
const REFERENCE_ORDER: &[&str] = &["phyla", "classes", "orders", "families"];
/// Tables with a few quoted fields (commas, doubled quotes, line breaks), which dalle lacks.
const QUOTED_TABLES: &[&str] = &["occupations", "litstyles", "tropes"];
const BOM_TABLE: &str = "colors";
const CRLF_TABLE: &str = "viewpoints";
const VERSION: &str = "v0.1.0";

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "st", "tr", "gl", "sh", "ch",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];

/// A seeded word maker.
struct Words {
    rng: SplitMix64,
}

impl Words {
    fn word(&mut self, len: usize) -> String {
        let mut w = String::with_capacity(len + 4);
        while w.len() < len {
            w.push_str(self.rng.pick(ONSETS).copied().unwrap_or("b"));
            w.push_str(self.rng.pick(VOWELS).copied().unwrap_or("a"));
        }
        w.truncate(len);
        w
    }

    /// Words separated by spaces, exactly `len` characters.
    fn phrase(&mut self, len: usize) -> String {
        let mut p = String::with_capacity(len + 12);
        while p.len() < len {
            if !p.is_empty() {
                p.push(' ');
            }
            let n = self.rng.range(2, 9) as usize;
            p.push_str(&self.word(n));
        }
        p.truncate(len);
        while p.ends_with(' ') {
            p.pop();
            p.push('s');
        }
        p
    }

    fn key(&mut self) -> String {
        let len = self.rng.range(4, 14) as usize;
        if self.rng.below(4) == 0 && len >= 9 {
            self.phrase(len)
        } else {
            self.word(len)
        }
    }

    fn long(&mut self) -> String {
        // Skewed towards short sentences: 20 + 100·x³ characters.
        let x = self.rng.unit();
        let len = 20 + (100.0 * x * x * x) as usize;
        let mut s = self.phrase(len);
        if let Some(first) = s.get(..1) {
            let upper = first.to_ascii_uppercase();
            s.replace_range(..1, &upper);
        }
        s
    }
}

/// Writes a dalle-shaped data set of `<table>.csv` files into `dir` (created when missing).
/// The same seed and scale always give the same bytes.
pub fn dalle(dir: &Path, seed: u64, scale: Scale) -> Result<GeneratedSet, Error> {
    dalle_with(dir, seed, scale, &Control::default())
}

/// [`dalle`] with progress (stage `generate`, `done`/`total` = data rows generated; the files are
/// written after the last event) and cancellation between tables.
pub fn dalle_with(
    dir: &Path,
    seed: u64,
    scale: Scale,
    control: &Control<'_>,
) -> Result<GeneratedSet, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
    let total_rows: u64 = SPECS
        .iter()
        .map(|spec| u64::from(spec.rows * scale.factor()))
        .sum();
    let mut rows_done = 0u64;
    let factor = scale.factor();
    let mut words = Words {
        rng: SplitMix64::new(seed),
    };
    let mut keys: Vec<(&'static str, Vec<String>)> = Vec::new();
    let mut made: Vec<(&'static str, Vec<u8>, GeneratedTable)> = Vec::new();
    let order = REFERENCE_ORDER
        .iter()
        .filter_map(|n| SPECS.iter().find(|s| s.name == *n))
        .chain(SPECS.iter().filter(|s| !REFERENCE_ORDER.contains(&s.name)));
    for spec in order {
        control.check()?;
        let (records, table, table_keys) = generate_table(spec, factor, &mut words, &keys, dir);
        rows_done += u64::from(table.rows);
        control.report(Progress::of(Stage::Generate, rows_done, total_rows).at(spec.name));
        let data = encode_csv(&records, table.bom, table.crlf)
            .map_err(|e| Error::io("write", &table.path, std::io::Error::other(e.to_string())))?;
        keys.push((spec.name, table_keys));
        made.push((spec.name, data, table));
    }
    let mut tables = Vec::with_capacity(SPECS.len());
    let mut bytes = 0u64;
    for spec in SPECS {
        let Some((_, data, table)) = made.iter().find(|(n, _, _)| *n == spec.name) else {
            continue;
        };
        std::fs::write(&table.path, data).map_err(|e| Error::io("write", &table.path, e))?;
        bytes += data.len() as u64;
        tables.push(table.clone());
    }
    Ok(GeneratedSet {
        dir: dir.to_path_buf(),
        version: VERSION.to_string(),
        tables,
        bytes,
    })
}

/// Writes `records` as RFC 4180 CSV (fields quoted only where needed), optionally after a UTF-8
/// byte-order mark and with CRLF line ends. Records may be longer than the header (ragged rows).
fn encode_csv(records: &[Vec<String>], bom: bool, crlf: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let terminator = if crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(terminator)
        .from_writer(out);
    for record in records {
        writer.write_record(record)?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

/// One table's records (header first), its description and its keys in row order.
fn generate_table(
    spec: &Spec,
    factor: u32,
    words: &mut Words,
    keys: &[(&'static str, Vec<String>)],
    dir: &Path,
) -> (Vec<Vec<String>>, GeneratedTable, Vec<String>) {
    let rows = spec.rows * factor;
    let ragged = spec.ragged * factor;
    let duplicates = spec.duplicates * factor;
    let mut pick = SplitMix64::new(words.rng.next_u64());
    // Which rows are ragged and which repeat an earlier key: distinct rows chosen by the seed.
    let mut chosen = |count: u32, from: u32| -> HashSet<u32> {
        let mut set = HashSet::new();
        let span = rows.saturating_sub(from);
        while (set.len() as u32) < count.min(span) {
            set.insert(from + pick.below(u64::from(span)) as u32);
        }
        set
    };
    let ragged_rows = chosen(ragged, 0);
    let duplicate_rows = chosen(duplicates, 1.min(rows));
    let mut seen = HashSet::new();
    let mut table_keys: Vec<String> = Vec::with_capacity(rows as usize);
    let mut columns = vec!["version".to_string()];
    columns.extend(spec.columns.iter().map(|(c, _)| c.to_string()));
    let mut records = Vec::with_capacity(rows as usize + 1);
    records.push(columns.clone());
    let quoted = QUOTED_TABLES.contains(&spec.name);
    let last = spec.columns.len() - 1;
    for row in 0..rows {
        let mut record = Vec::with_capacity(columns.len() + 4);
        record.push(VERSION.to_string());
        for (c, (_, cell)) in spec.columns.iter().enumerate() {
            let value = match cell {
                Cell::Key if duplicate_rows.contains(&row) && !table_keys.is_empty() => {
                    let at = words.rng.below(table_keys.len() as u64) as usize;
                    table_keys[at].clone()
                }
                Cell::Key => {
                    let mut k = words.key();
                    let mut tries = 0;
                    while seen.contains(&k) {
                        tries += 1;
                        k = if tries < 8 {
                            words.key()
                        } else {
                            format!("{}{}", words.word(4), table_keys.len())
                        };
                    }
                    seen.insert(k.clone());
                    table_keys.push(k.clone());
                    k
                }
                Cell::Word => {
                    let n = words.rng.range(4, 12) as usize;
                    words.word(n)
                }
                Cell::Long => words.long(),
                Cell::Ref(table) => keys
                    .iter()
                    .find(|(n, _)| n == table)
                    .and_then(|(_, ks)| words.rng.pick(ks).cloned())
                    .unwrap_or_default(),
                Cell::Hex => format!("#{:06x}", words.rng.below(0x0100_0000)),
                Cell::Choice(options) => words
                    .rng
                    .pick(options)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                Cell::Sensitive => {
                    if words.rng.below(8) == 0 {
                        "sensitive".to_string()
                    } else {
                        String::new()
                    }
                }
            };
            if c == last && ragged_rows.contains(&row) {
                // The source data's quirk: unquoted commas in the last column, so the row has
                // more fields than the header.
                let mut parts: Vec<String> = value.split(' ').map(str::to_string).collect();
                if parts.len() == 1 {
                    parts.push("and more".to_string());
                }
                for (i, part) in parts.into_iter().enumerate() {
                    record.push(if i == 0 { part } else { format!(" {part}") });
                }
            } else if c == last && quoted && row % 7 == 3 {
                record.push(match row % 3 {
                    0 => format!("{value}, in short"),
                    1 => format!("{value} \"quoted\""),
                    _ => format!("{value}\nsecond line"),
                });
            } else {
                record.push(value);
            }
        }
        records.push(record);
    }
    let table = GeneratedTable {
        name: spec.name.to_string(),
        path: dir.join(format!("{}.csv", spec.name)),
        columns,
        rows,
        ragged_rows: ragged_rows.len() as u32,
        duplicate_rows: duplicate_rows.len() as u32,
        bom: spec.name == BOM_TABLE,
        crlf: spec.name == CRLF_TABLE,
    };
    (records, table, table_keys)
}

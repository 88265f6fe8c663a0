//! Datasets: CSV tables or given rows, stored column-wise with a hash index over a key column in
//! the `modforge.dataset@1` payload of a modforge-store snapshot, and opened lazily from its
//! memory map (docs/store.md, "Datasets"). Opening validates the structure in
//! O(tables + columns); every cell access is bounds- and UTF-8-checked.

mod encode;
mod inspect;
mod layout;
mod options;
mod parse;
mod report;
mod view;

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

pub use inspect::DatasetPayload;
pub use layout::DATASET_KIND;
pub use modforge_store::Error;
pub use options::{DELIMITERS, DatasetOptions, DuplicatePolicy, Keys, RaggedPolicy, TableInput};
pub use report::{DatasetReport, DuplicateKey, REPORT_LIST_LIMIT, TableReport};
pub use view::{CellCounts, CellSection, Dataset, SectionColumn, Table};

use encode::KeyedTable;
use modforge_core::{Control, Progress, Stage};
use modforge_store::{
    self as store, EntryKind, Expect, FileMode, Fingerprint, HEADER_LEN, Hooks, Opened, Reason,
    ReasonCode, Snapshot, SnapshotId, Source, fingerprint_in,
};
use parse::{ParseContext, ParsedTable};

/// The build options that decide the payload, hashed into the fingerprint as canonical JSON
/// (docs/store.md, "Fingerprints" and "Datasets"). Table names are sorted: the order in which
/// tables are given does not change what is built from them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalOptions<'a> {
    kind: &'a str,
    tables: Option<Vec<&'a str>>,
    key: &'a Keys,
    version_column: Option<&'a str>,
    duplicates: DuplicatePolicy,
    ragged: RaggedPolicy,
    delimiter: char,
}

/// A dataset request with its fingerprint computed: [`DatasetPlan::load`] tries the files on
/// disk, [`DatasetPlan::build`] builds and writes. The two steps can run on different threads
/// (for example when the tables come from a callback that must run elsewhere).
#[derive(Debug, Clone)]
pub struct DatasetPlan {
    opts: DatasetOptions,
    table_names: Option<Vec<String>>,
    fingerprint: Fingerprint,
}

/// The table names, in the order given: non-empty, without NUL (a table name becomes a
/// JavaScript property name), each once (checked with a hash set: linear in the input).
fn table_names_of(tables: &[(String, TableInput)]) -> Result<Vec<String>, Error> {
    let mut seen = HashSet::with_capacity(tables.len());
    let mut names: Vec<String> = Vec::with_capacity(tables.len());
    for (name, _) in tables {
        if name.is_empty() {
            return Err(Error::InvalidArgument(
                "table names must not be empty".into(),
            ));
        }
        if name.contains('\0') {
            return Err(Error::InvalidArgument(format!(
                "table name {name:?} contains NUL"
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "table {name:?} is given twice"
            )));
        }
        names.push(name.clone());
    }
    Ok(names)
}

impl DatasetPlan {
    /// Validates the options and fingerprints the source. `tables` are the inputs when known in
    /// advance (their names join the fingerprint, and the content of CSV paths, named by their
    /// tables, is the default source); `None` when they will come from a callback, in which case
    /// `opts.source` is required.
    pub fn new(
        opts: DatasetOptions,
        tables: Option<&[(String, TableInput)]>,
    ) -> Result<DatasetPlan, Error> {
        Self::new_with(opts, tables, &Control::default())
    }

    /// [`DatasetPlan::new`] polling `control` while source files are read.
    pub fn new_with(
        opts: DatasetOptions,
        tables: Option<&[(String, TableInput)]>,
        control: &Control<'_>,
    ) -> Result<DatasetPlan, Error> {
        store::validate_dir(&opts.dir)?;
        if !DELIMITERS.contains(&opts.delimiter) {
            return Err(Error::InvalidArgument(format!(
                "delimiter {:?} is not one of ',', ';', tab or '|'",
                char::from(opts.delimiter)
            )));
        }
        if opts.version.is_none() && opts.version_column.is_none() {
            return Err(Error::InvalidArgument(
                "a dataset needs a version or a versionColumn".into(),
            ));
        }
        if let Some(v) = &opts.version {
            store::validate_version(v)?;
        }
        store::snapshot_file_name(&opts.name, opts.version.as_deref().unwrap_or("v"))?;
        if opts.version_column.as_deref() == Some("") {
            return Err(Error::InvalidArgument(
                "versionColumn must not be empty".into(),
            ));
        }
        let table_names = tables.map(table_names_of).transpose()?;
        let default_source;
        let source = match (&opts.source, tables) {
            (Some(source), _) => source,
            (None, Some(tables)) => {
                let files = tables
                    .iter()
                    .map(|(name, input)| match input {
                        TableInput::CsvPath(p) => Ok((name.clone(), p.clone())),
                        _ => Err(Error::InvalidArgument(format!(
                            "table {name:?} is not a CSV file path, so a source is required"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                // Named by their tables: neither the paths' spelling nor their folder matters.
                default_source = Source::NamedFiles {
                    files,
                    mode: FileMode::Content,
                };
                &default_source
            }
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "a source is required when tables come from a callback".into(),
                ));
            }
        };
        let sorted = table_names.as_ref().map(|names| {
            let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            sorted
        });
        let canonical = CanonicalOptions {
            kind: DATASET_KIND,
            tables: sorted,
            key: &opts.keys,
            version_column: opts.version_column.as_deref(),
            duplicates: opts.duplicates,
            ragged: opts.ragged,
            delimiter: char::from(opts.delimiter),
        };
        let json = serde_json::to_vec(&canonical)
            .map_err(|e| Error::InvalidArgument(format!("options: {e}")))?;
        // The dataset's own domain: no blob, whatever its token, carries this fingerprint.
        let fingerprint = fingerprint_in(DATASET_KIND, source, &json, control)?;
        Ok(DatasetPlan {
            opts,
            table_names,
            fingerprint,
        })
    }

    /// The fingerprint of source plus options.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The options.
    pub fn options(&self) -> &DatasetOptions {
        &self.opts
    }

    /// The snapshot file of an explicit version; `None` when the version comes from a column
    /// (then the file is known only once the tables were read).
    pub fn path(&self) -> Option<PathBuf> {
        let version = self.opts.version.as_deref()?;
        let file = store::snapshot_file_name(&self.opts.name, version).ok()?;
        Some(self.opts.dir.join(file))
    }

    /// Opens the snapshot on disk if it passes every load check, structure included. With a
    /// version column and no explicit version, this name's `.mfs` files are tried newest first
    /// and the first whose kind and fingerprint match is used.
    pub fn load(&self) -> Result<Dataset, Reason> {
        match self.load_with(&Control::default()) {
            Ok(result) => result,
            // Without a cancellation flag nothing can abort.
            Err(_) => Err(Reason::new(ReasonCode::Missing, "the load was aborted")),
        }
    }

    /// [`DatasetPlan::load`] polling `control` while files are read, checksummed and validated:
    /// the outer error is [`Error::Aborted`], the inner one why no snapshot could be used.
    pub fn load_with(&self, control: &Control<'_>) -> Result<Result<Dataset, Reason>, Error> {
        let fp = &self.fingerprint;
        let open = |path: &std::path::Path, version: Option<&str>| {
            let expect = Expect {
                kind: DATASET_KIND,
                version,
                fingerprint: fp,
            };
            match store::load_path_with(path, &expect, control)? {
                Ok(snapshot) => Dataset::from_snapshot_with(snapshot, control),
                Err(reason) => Ok(Err(reason)),
            }
        };
        match &self.opts.version {
            Some(version) => {
                let file = match store::snapshot_file_name(&self.opts.name, version) {
                    Ok(file) => file,
                    Err(e) => return Ok(Err(Reason::new(ReasonCode::Missing, e.to_string()))),
                };
                open(&self.opts.dir.join(file), Some(version))
            }
            None => {
                let mut first_reason = None;
                for path in self.candidates() {
                    control.check()?;
                    match open(&path, None)? {
                        Ok(dataset) => return Ok(Ok(dataset)),
                        Err(reason) => {
                            first_reason.get_or_insert(reason);
                        }
                    }
                }
                Ok(Err(first_reason.unwrap_or_else(|| {
                    Reason::new(
                        ReasonCode::Missing,
                        format!(
                            "ENOENT: no snapshot named {:?} in {}",
                            self.opts.name,
                            self.opts.dir.display()
                        ),
                    )
                })))
            }
        }
    }

    /// This name's snapshot files, newest modification first (ties by file name).
    fn candidates(&self) -> Vec<PathBuf> {
        let encoded = store::encode_component(&self.opts.name);
        let Ok(entries) = std::fs::read_dir(&self.opts.dir) else {
            return Vec::new();
        };
        let mut found: Vec<(std::time::SystemTime, String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let file_name = e.file_name().to_str()?.to_string();
                match store::classify(&file_name) {
                    Some((EntryKind::Snapshot, name)) if name == encoded => {}
                    _ => return None,
                }
                let modified = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                Some((modified, file_name, e.path()))
            })
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        found.into_iter().map(|(_, _, p)| p).collect()
    }

    /// Parses and encodes `tables`, writes the snapshot (docs/store.md, "Writes") and returns the
    /// dataset. A failed write is reported in [`Opened::persist_error`]. `rejected` is why the
    /// disk copy was not used.
    pub fn build(
        &self,
        tables: Vec<(String, TableInput)>,
        rejected: Option<Reason>,
        hooks: &Hooks<'_>,
    ) -> Result<Opened<Dataset>, Error> {
        let given = table_names_of(&tables)?;
        if let Some(planned) = &self.table_names {
            if planned != &given {
                return Err(Error::InvalidArgument(
                    "the tables differ from those the plan was made for".into(),
                ));
            }
        }
        if let Keys::PerTable(map) = &self.opts.keys {
            let known: HashSet<&str> = given.iter().map(String::as_str).collect();
            if let Some(unknown) = map.keys().find(|k| !known.contains(k.as_str())) {
                return Err(Error::InvalidArgument(format!(
                    "key option names table {unknown:?}, which is not given"
                )));
            }
        }
        let (parsed, version) = self.parse_all(tables, hooks)?;
        let keyed = parsed
            .into_iter()
            .map(|table| {
                let key = self.key_of(&table)?;
                Ok(KeyedTable { table, key })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let (mut image, _report) = encode::encode(keyed, self.opts.duplicates, hooks)?;
        let id = SnapshotId::new(&self.opts.dir, &self.opts.name, &version, DATASET_KIND)?;
        let head = store::encode_header(
            DATASET_KIND,
            &version,
            &self.fingerprint,
            image.get(HEADER_LEN..).unwrap_or_default(),
            hooks.created(),
        );
        if let Some(dst) = image.get_mut(..HEADER_LEN) {
            dst.copy_from_slice(&head);
        }
        let persisted = store::persist_image(&id, &image, hooks)?;
        let path = id.path();
        let built = Snapshot::built(path.clone(), image)?;
        let value = Dataset::from_snapshot(built).map_err(|r| Error::Corrupt {
            file: path.display().to_string(),
            offset: r.offset.unwrap_or(0),
            detail: format!("freshly built dataset failed validation: {}", r.detail),
        })?;
        let (persisted, persist_error) = persisted.into_parts();
        Ok(Opened {
            value,
            path,
            loaded: false,
            rejected,
            persisted,
            persist_error,
        })
    }

    fn key_of(&self, table: &ParsedTable) -> Result<Option<usize>, Error> {
        let named = match &self.opts.keys {
            Keys::First => None,
            Keys::Column(c) => Some(c),
            Keys::PerTable(map) => map.get(&table.name),
        };
        match named {
            None => Ok((!table.columns.is_empty()).then_some(0)),
            Some(col) => table
                .columns
                .iter()
                .position(|c| &c.name == col)
                .map(Some)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "key column {col:?} is not a stored column of table {:?}",
                        table.name
                    ))
                }),
        }
    }

    /// Reads and parses every table; returns them with the data version.
    fn parse_all(
        &self,
        tables: Vec<(String, TableInput)>,
        hooks: &Hooks<'_>,
    ) -> Result<(Vec<ParsedTable>, String), Error> {
        let mut loaded = Vec::with_capacity(tables.len());
        for (name, input) in tables {
            hooks.control.check()?;
            let input = match input {
                TableInput::CsvPath(path) => {
                    let bytes = store::read_source(&path, &hooks.control)?;
                    Loaded::Csv {
                        label: path.display().to_string(),
                        bytes,
                    }
                }
                TableInput::CsvBytes(bytes) => Loaded::Csv {
                    label: format!("<csv of table {name:?}>"),
                    bytes,
                },
                TableInput::Rows { columns, rows } => Loaded::Rows { columns, rows },
            };
            loaded.push((name, input));
        }
        let mut total = 0u64;
        for (_, input) in &loaded {
            hooks.control.check()?;
            total += input.rows(self.opts.delimiter);
        }
        let mut ctx = ParseContext {
            version_column: self.opts.version_column.as_deref(),
            ragged: self.opts.ragged,
            keep_lines: self.opts.duplicates == DuplicatePolicy::Error,
            delimiter: self.opts.delimiter,
            hooks,
            version: None,
            done: 0,
            total,
        };
        let mut parsed = Vec::with_capacity(loaded.len());
        for (name, input) in &loaded {
            hooks.control.check()?;
            hooks
                .control
                .report(Progress::of(Stage::Parse, ctx.done, total).at(name));
            let table = match input {
                Loaded::Csv { label, bytes } => parse::parse_csv(name, label, bytes, &mut ctx)?,
                Loaded::Rows { columns, rows } => parse::parse_rows(name, columns, rows, &mut ctx)?,
            };
            ctx.done += u64::from(table.rows);
            parsed.push(table);
        }
        hooks
            .control
            .report(Progress::of(Stage::Parse, total, total));
        let version = self.version_of(ctx.version.map(|v| v.value), &parsed)?;
        Ok((parsed, version))
    }

    fn version_of(
        &self,
        from_column: Option<String>,
        parsed: &[ParsedTable],
    ) -> Result<String, Error> {
        let label = || parsed.first().map(|t| t.label.clone()).unwrap_or_default();
        match (&self.opts.version, from_column, &self.opts.version_column) {
            (Some(v), Some(c), _) if *v != c => Err(Error::Format {
                file: label(),
                offset: 0,
                line: None,
                expected: format!("version column value {c:?} to equal the version option {v:?}"),
            }),
            (Some(v), _, _) => Ok(v.clone()),
            (None, Some(c), _) => {
                store::validate_version(&c).map_err(|_| Error::Format {
                    file: label(),
                    offset: 0,
                    line: None,
                    expected: format!("a data version of 1-64 bytes without NUL in the version column, found {c:?}"),
                })?;
                Ok(c)
            }
            (None, None, column) => Err(Error::Format {
                file: label(),
                offset: 0,
                line: None,
                expected: format!(
                    "at least one data row carrying the version column {:?}",
                    column.as_deref().unwrap_or_default()
                ),
            }),
        }
    }
}

/// A table input in memory, ready to parse.
enum Loaded {
    Csv {
        label: String,
        bytes: Vec<u8>,
    },
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Loaded {
    /// Data rows, the unit of progress stage `parse`: counted in a CSV input, given in rows.
    fn rows(&self, delimiter: u8) -> u64 {
        match self {
            Loaded::Csv { bytes, .. } => parse::count_rows(bytes, delimiter),
            Loaded::Rows { rows, .. } => rows.len() as u64,
        }
    }
}

/// Opens the dataset from disk when valid, otherwise builds it from `tables` and writes it.
/// When `opts.source` is `None`, every table must be a CSV path and their content is the source.
pub fn open_dataset(
    opts: DatasetOptions,
    tables: Vec<(String, TableInput)>,
    hooks: &Hooks<'_>,
) -> Result<Opened<Dataset>, Error> {
    let plan = DatasetPlan::new_with(opts, Some(&tables), &hooks.control)?;
    match plan.load_with(&hooks.control)? {
        Ok(dataset) => Ok(loaded(dataset)),
        Err(reason) => plan.build(tables, Some(reason), hooks),
    }
}

/// Like [`open_dataset`] with tables produced on demand: `tables` runs only when the snapshot on
/// disk cannot be used. `opts.source` is required.
pub fn open_dataset_with(
    opts: DatasetOptions,
    tables: impl FnOnce() -> Result<Vec<(String, TableInput)>, Error>,
    hooks: &Hooks<'_>,
) -> Result<Opened<Dataset>, Error> {
    let plan = DatasetPlan::new_with(opts, None, &hooks.control)?;
    match plan.load_with(&hooks.control)? {
        Ok(dataset) => Ok(loaded(dataset)),
        Err(reason) => {
            hooks.control.check()?;
            plan.build(tables()?, Some(reason), hooks)
        }
    }
}

fn loaded(dataset: Dataset) -> Opened<Dataset> {
    let path = dataset.path().to_path_buf();
    Opened {
        value: dataset,
        path,
        loaded: true,
        rejected: None,
        persisted: true,
        persist_error: None,
    }
}

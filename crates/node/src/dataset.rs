//! Datasets: options and table conversion, the open-or-build plan, and lazy access by handle to
//! the tables of a memory-mapped `modforge.dataset@1` snapshot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use modforge_core::Cancel;
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use modforge_store as store;
use napi::bindgen_prelude::{
    Array, Either, FromNapiValue, JsObjectValue, JsValue, Object, PromiseRaw, Uint8Array,
    Undefined, Unknown,
};
use napi::{Env, JsString, Property, PropertyAttributes, ValueType};
use napi_derive::napi;

use crate::cancel::{CancelFlag, flag_of};
use crate::delivery::Delivery;
use crate::error::NodeError;
use crate::progress::{ProgressCallback, ProgressEvent, ProgressSink};
use crate::store::{NativeSource, RejectReason, display};
use crate::task::{run_sync, spawn_promise};

/// Options of a dataset (see `DatasetOptions` in index.ts for the documented form).
#[napi(object)]
pub struct NativeDatasetOptions {
    /// Folder of the snapshot files.
    pub dir: String,
    /// The dataset's name.
    pub name: String,
    /// The data version; or take it from `versionColumn`.
    pub version: Option<String>,
    /// A column carrying the version in every row of every table; removed from the stored tables.
    pub version_column: Option<String>,
    /// What the dataset is built from; default: the content of the CSV files.
    pub source: Option<NativeSource>,
    /// Key column for every table, or per table name; default: each table's first column.
    pub key: Option<Either<String, HashMap<String, String>>>,
    /// `first` (default): the first row with a key wins the index; `error`: a duplicate fails.
    #[napi(ts_type = "'first' | 'error'")]
    pub duplicates: Option<String>,
    /// `joinLast` (default): extra fields join the last column; `error`: a ragged row fails.
    #[napi(ts_type = "'joinLast' | 'error'")]
    pub ragged: Option<String>,
}

impl NativeDatasetOptions {
    fn resolve(self) -> Result<store::DatasetOptions, NodeError> {
        let mut options = store::DatasetOptions::new(self.dir, self.name);
        options.version = self.version;
        options.version_column = self.version_column;
        options.source = self.source.map(NativeSource::into_source).transpose()?;
        options.keys = match self.key {
            None => store::Keys::First,
            Some(Either::A(column)) => store::Keys::Column(column),
            Some(Either::B(per_table)) => store::Keys::PerTable(per_table.into_iter().collect()),
        };
        options.duplicates = match self.duplicates.as_deref() {
            None | Some("first") => store::DuplicatePolicy::First,
            Some("error") => store::DuplicatePolicy::Error,
            Some(other) => return Err(invalid_choice("duplicates", "'first' or 'error'", other)),
        };
        options.ragged = match self.ragged.as_deref() {
            None | Some("joinLast") => store::RaggedPolicy::JoinLast,
            Some("error") => store::RaggedPolicy::Error,
            Some(other) => return Err(invalid_choice("ragged", "'joinLast' or 'error'", other)),
        };
        Ok(options)
    }
}

fn invalid_choice(option: &str, allowed: &str, got: &str) -> NodeError {
    NodeError::InvalidArg(format!("option `{option}` must be {allowed}, got '{got}'"))
}

type Tables = Vec<(String, store::TableInput)>;

/// Converts `{ [table]: path | bytes | { columns?, rows } }` on the JavaScript thread.
fn tables_from_js(tables: &Object) -> Result<Tables, NodeError> {
    let names = Object::keys(tables)?;
    let mut converted = Vec::with_capacity(names.len());
    for name in names {
        let value: Unknown = tables.get_named_property(&name)?;
        // N-API failures here come from converting the caller's values (a `columns` that is not
        // an array of strings, ...): they describe bad input, not a bug.
        let input = table_input(&name, value).map_err(|err| match err {
            NodeError::Internal(reason) => {
                NodeError::InvalidArg(format!("table '{name}': {reason}"))
            }
            other => other,
        })?;
        converted.push((name, input));
    }
    Ok(converted)
}

fn table_input(table: &str, value: Unknown) -> Result<store::TableInput, NodeError> {
    if value.get_type()? == ValueType::String {
        let path: String = value.coerce_to_string()?.into_utf8()?.into_owned()?;
        return Ok(store::TableInput::CsvPath(PathBuf::from(path)));
    }
    if value.is_typedarray()? || value.is_buffer()? {
        let bytes = Uint8Array::from_unknown(value)?;
        return Ok(store::TableInput::CsvBytes(bytes.to_vec()));
    }
    if value.get_type()? != ValueType::Object {
        return Err(NodeError::InvalidArg(format!(
            "table '{table}' must be a CSV path, CSV bytes or {{ columns?, rows }}"
        )));
    }
    let object = Object::from_unknown(value)?;
    let rows: Unknown = object.get_named_property("rows")?;
    if !rows.is_array()? {
        return Err(NodeError::InvalidArg(format!(
            "table '{table}': `rows` must be an array"
        )));
    }
    let rows = Array::from_unknown(rows)?;
    let given_columns: Option<Vec<String>> = object.get_named_property("columns")?;
    rows_input(table, given_columns, &rows)
}

/// Rows as arrays of cells, or objects whose keys are the columns (taken from the first row
/// when `columns` is not given). Numbers are stringified as JavaScript does; anything else that
/// is not a string fails naming table, row and column.
fn rows_input(
    table: &str,
    columns: Option<Vec<String>>,
    rows: &Array,
) -> Result<store::TableInput, NodeError> {
    let mut columns = columns;
    let mut cells_of_rows = Vec::with_capacity(rows.len() as usize);
    for index in 0..rows.len() {
        let row: Unknown = rows.get_element(index)?;
        if row.is_array()? {
            let row = Array::from_unknown(row)?;
            let mut cells = Vec::with_capacity(row.len() as usize);
            for column in 0..row.len() {
                let label = columns
                    .as_ref()
                    .and_then(|names| names.get(column as usize).cloned())
                    .unwrap_or_else(|| column.to_string());
                cells.push(cell_text(table, index, &label, row.get_element(column)?)?);
            }
            cells_of_rows.push(cells);
        } else if row.get_type()? == ValueType::Object {
            let row = Object::from_unknown(row)?;
            let names = columns.get_or_insert_with(|| Object::keys(&row).unwrap_or_default());
            let mut cells = Vec::with_capacity(names.len());
            for name in names.iter() {
                cells.push(cell_text(
                    table,
                    index,
                    name,
                    row.get_named_property(name)?,
                )?);
            }
            cells_of_rows.push(cells);
        } else {
            return Err(NodeError::InvalidArg(format!(
                "table '{table}', row {index}: a row must be an array or an object"
            )));
        }
    }
    let columns = columns.ok_or_else(|| {
        NodeError::InvalidArg(format!(
            "table '{table}': `columns` is required when rows are arrays"
        ))
    })?;
    Ok(store::TableInput::Rows {
        columns,
        rows: cells_of_rows,
    })
}

fn cell_text(table: &str, row: u32, column: &str, value: Unknown) -> Result<String, NodeError> {
    match value.get_type()? {
        ValueType::String | ValueType::Number => {
            Ok(value.coerce_to_string()?.into_utf8()?.into_owned()?)
        }
        other => Err(NodeError::InvalidArg(format!(
            "table '{table}', row {row}, column '{column}': a cell must be a string or a number, got {other}"
        ))),
    }
}

/// A dataset request with its source fingerprinted: `load` tries the file on disk, `build`
/// builds from the tables and writes the snapshot.
#[napi]
pub struct DatasetPlan {
    plan: Arc<store::DatasetPlan>,
    /// Tables given inline when the plan was made (consumed by `build`).
    inline: Arc<Mutex<Option<Tables>>>,
}

fn make_plan(
    options: NativeDatasetOptions,
    tables: Option<Tables>,
    cancel: &Cancel,
) -> Result<DatasetPlan, NodeError> {
    if cancel.is_cancelled() {
        return Err(NodeError::Aborted);
    }
    let plan = store::DatasetPlan::new(options.resolve()?, tables.as_deref())?;
    Ok(DatasetPlan {
        plan: Arc::new(plan),
        inline: Arc::new(Mutex::new(tables)),
    })
}

/// Validates the options, converts inline tables and fingerprints the source off the main thread.
#[napi(ts_return_type = "Promise<DatasetPlan>")]
pub fn plan_dataset<'env>(
    env: &'env Env,
    options: NativeDatasetOptions,
    #[napi(
        ts_arg_type = "Record<string, string | Uint8Array | { columns?: string[]; rows: unknown[] }>"
    )]
    tables: Option<Object>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, DatasetPlan>> {
    let tables = run_sync(env, || tables.as_ref().map(tables_from_js).transpose())?;
    let cancel = flag_of(cancel);
    spawn_promise(
        env,
        "dataset",
        move || make_plan(options, tables, &cancel),
        |_env, plan| Ok(plan),
    )
}

/// Validates the options, converts inline tables and fingerprints the source on the calling thread.
#[napi]
pub fn plan_dataset_sync(
    env: &Env,
    options: NativeDatasetOptions,
    #[napi(
        ts_arg_type = "Record<string, string | Uint8Array | { columns?: string[]; rows: unknown[] }>"
    )]
    tables: Option<Object>,
) -> napi::Result<DatasetPlan> {
    run_sync(env, || {
        make_plan(
            options,
            tables.as_ref().map(tables_from_js).transpose()?,
            &Cancel::new(),
        )
    })
}

/// The outcome of `DatasetPlan.load`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct DatasetLoad {
    /// The dataset when the snapshot passed every check.
    pub dataset: Option<DatasetInfo>,
    /// Why the snapshot was not used.
    pub reason: Option<RejectReason>,
}

/// The outcome of `DatasetPlan.build`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct DatasetBuilt {
    /// The dataset just built (served from memory).
    pub dataset: DatasetInfo,
    /// The snapshot file.
    pub path: String,
    /// True when the snapshot was written.
    pub persisted: bool,
    /// Why writing failed, when it did.
    #[napi(ts_type = "Error | null")]
    pub persist_error: Option<napi::Error>,
}

fn load_dataset(plan: &store::DatasetPlan) -> DatasetLoad {
    match plan.load() {
        Ok(dataset) => DatasetLoad {
            dataset: Some(register(dataset)),
            reason: None,
        },
        Err(reason) => DatasetLoad {
            dataset: None,
            reason: Some(reason.into()),
        },
    }
}

fn build_dataset(
    plan: &store::DatasetPlan,
    tables: Tables,
    cancel: &Cancel,
    progress: Option<&ProgressSink>,
) -> Result<store::Opened<store::Dataset>, NodeError> {
    let forward = |event: &modforge_core::Progress<'_>| {
        if let Some(sink) = progress {
            sink.report(ProgressEvent {
                stage: event.stage.as_str().to_owned(),
                done: event.done as f64,
                total: event.total.map(|total| total as f64),
                bytes: None,
                current: event.current.to_owned(),
            });
        }
    };
    let hooks = store::Hooks {
        control: modforge_core::Control {
            cancel: Some(cancel),
            progress: progress.map(|_| &forward as modforge_core::ProgressFn<'_>),
        },
        ..Default::default()
    };
    Ok(plan.build(tables, None, &hooks)?)
}

fn built_to_js(env: &Env, opened: store::Opened<store::Dataset>) -> DatasetBuilt {
    DatasetBuilt {
        path: display(&opened.path),
        persisted: opened.persisted,
        persist_error: opened
            .persist_error
            .map(|err| NodeError::from(err).into_napi(env)),
        dataset: register(opened.value),
    }
}

impl DatasetPlan {
    /// The tables to build from: those given now, else those given when the plan was made.
    fn take_tables(&self, tables: Option<&Object>) -> Result<Tables, NodeError> {
        if let Some(tables) = tables {
            return tables_from_js(tables);
        }
        self.inline
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
            .ok_or_else(|| NodeError::InvalidArg("build() needs the tables".to_owned()))
    }
}

#[napi]
impl DatasetPlan {
    /// The snapshot file of an explicit version (empty when the version comes from a column).
    #[napi(getter)]
    pub fn path(&self) -> String {
        let options = self.plan.options();
        options
            .version
            .as_deref()
            .and_then(|version| store::snapshot_file_name(&options.name, version).ok())
            .map(|file| display(&options.dir.join(file)))
            .unwrap_or_default()
    }

    /// Opens the snapshot on disk if it passes every check (off the main thread).
    #[napi(ts_return_type = "Promise<DatasetLoad>")]
    pub fn load<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, DatasetLoad>> {
        let plan = Arc::clone(&self.plan);
        spawn_promise(
            env,
            "dataset",
            move || Ok(load_dataset(&plan)),
            |_env, load| Ok(load),
        )
    }

    /// Opens the snapshot on disk if it passes every check, on the calling thread.
    #[napi]
    pub fn load_sync(&self, env: &Env) -> napi::Result<DatasetLoad> {
        run_sync(env, || Ok(load_dataset(&self.plan)))
    }

    /// Builds from `tables` (or the tables given to the plan) and writes the snapshot, off the
    /// main thread. Write failures are reported in the result.
    #[napi(ts_return_type = "Promise<DatasetBuilt>")]
    pub fn build<'env>(
        &self,
        env: &'env Env,
        #[napi(
            ts_arg_type = "Record<string, string | Uint8Array | { columns?: string[]; rows: unknown[] }> | undefined | null"
        )]
        tables: Option<Object>,
        cancel: Option<&CancelFlag>,
        #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<
            ProgressCallback,
        >,
    ) -> napi::Result<PromiseRaw<'env, DatasetBuilt>> {
        let tables = run_sync(env, || self.take_tables(tables.as_ref()))?;
        let plan = Arc::clone(&self.plan);
        let cancel = flag_of(cancel);
        let delivery = Delivery::default();
        let progress = on_progress.map(|callback| ProgressSink::new(callback, delivery.clone()));
        spawn_promise(
            env,
            "dataset",
            move || {
                let built = build_dataset(&plan, tables, &cancel, progress.as_ref());
                delivery.wait(|| progress.as_ref().is_some_and(ProgressSink::closing));
                // A listener may have aborted while its event was handled after the build ended.
                if cancel.is_cancelled() {
                    return Err(NodeError::Aborted);
                }
                built
            },
            |env, opened| Ok(built_to_js(env, opened)),
        )
    }

    /// Builds and writes on the calling thread.
    #[napi]
    pub fn build_sync(
        &self,
        env: &Env,
        #[napi(
            ts_arg_type = "Record<string, string | Uint8Array | { columns?: string[]; rows: unknown[] }> | undefined | null"
        )]
        tables: Option<Object>,
    ) -> napi::Result<DatasetBuilt> {
        let opened = run_sync(env, || {
            let tables = self.take_tables(tables.as_ref())?;
            build_dataset(&self.plan, tables, &Default::default(), None)
        })?;
        Ok(built_to_js(env, opened))
    }
}

/// An open dataset and its tables, shared by every handle to it.
struct OpenDataset {
    dataset: store::Dataset,
    tables: Vec<store::Table>,
    /// Per table: whether a column is named `__proto__` (it must become an own property, so the
    /// row object is built with define semantics).
    needs_define: Vec<bool>,
}

/// Open datasets by handle.
///
/// JavaScript holds a plain number per dataset and calls free functions with it: a napi-rs class
/// method call costs about 0.4 µs (instance unwrap plus borrow tracking), more than a whole key
/// lookup, so the hot path (`tableGet`, `tableRow`) avoids class instances. Handles are never
/// reused, so a closed handle can never reach another dataset.
struct Registry {
    open: RwLock<HashMap<u32, Arc<OpenDataset>>>,
    next: AtomicU32,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    open: RwLock::new(HashMap::new()),
    next: AtomicU32::new(1),
});

fn closed() -> NodeError {
    NodeError::InvalidArg("the dataset is closed".to_owned())
}

/// The dataset behind `handle`, or `ERR_MODFORGE_INVALID_ARG` once it is closed.
fn open_dataset(handle: u32) -> Result<Arc<OpenDataset>, NodeError> {
    let open = REGISTRY
        .open
        .read()
        .unwrap_or_else(|poison| poison.into_inner());
    open.get(&handle).cloned().ok_or_else(closed)
}

/// What JavaScript keeps of one table (so its getters need no native call).
#[napi(object, use_nullable = true)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Rows.
    pub length: u32,
    /// Column names, in order.
    pub columns: Vec<String>,
    /// The key column.
    pub key: Option<String>,
}

/// What JavaScript keeps of an open dataset.
#[napi(object)]
pub struct DatasetInfo {
    /// The handle for `table*` and `dataset*` calls.
    pub handle: u32,
    /// The data version.
    pub version: String,
    /// The snapshot file.
    pub path: String,
    /// The tables, in build order.
    pub tables: Vec<TableInfo>,
}

/// Registers an open dataset and describes it.
fn register(dataset: store::Dataset) -> DatasetInfo {
    let tables = dataset.tables();
    let info = DatasetInfo {
        handle: REGISTRY.next.fetch_add(1, Ordering::Relaxed),
        version: dataset.version().to_owned(),
        path: display(dataset.path()),
        tables: tables
            .iter()
            .map(|table| TableInfo {
                name: table.name().to_owned(),
                length: table.len(),
                columns: table.columns().to_vec(),
                key: table
                    .key_column()
                    .and_then(|column| table.columns().get(column).cloned()),
            })
            .collect(),
    };
    let needs_define = tables
        .iter()
        .map(|table| table.columns().iter().any(|column| column == "__proto__"))
        .collect();
    let open = Arc::new(OpenDataset {
        dataset,
        tables,
        needs_define,
    });
    REGISTRY
        .open
        .write()
        .unwrap_or_else(|poison| poison.into_inner())
        .insert(info.handle, open);
    info
}

/// Releases dataset `handle` (its memory map goes when the last user drops it); later calls
/// with the handle throw. Closing twice is harmless.
#[napi]
pub fn dataset_close(handle: u32) {
    REGISTRY
        .open
        .write()
        .unwrap_or_else(|poison| poison.into_inner())
        .remove(&handle);
}

/// The stored build report of dataset `handle`, as JSON text (`{ tables: [...] }`).
#[napi]
pub fn dataset_report(env: &Env, handle: u32) -> napi::Result<String> {
    run_sync(env, || {
        Ok(open_dataset(handle)?.dataset.report_json().to_owned())
    })
}

/// Runs `f` with table `table` of dataset `handle`.
fn with_table<T>(
    handle: u32,
    table: u32,
    f: impl FnOnce(&store::Table, bool) -> Result<T, NodeError>,
) -> Result<T, NodeError> {
    let open = open_dataset(handle)?;
    let index = table as usize;
    match (open.tables.get(index), open.needs_define.get(index)) {
        (Some(view), Some(&needs_define)) => f(view, needs_define),
        _ => Err(NodeError::InvalidArg(format!(
            "dataset has no table number {table}"
        ))),
    }
}

/// The row object of `row`: the columns as own properties, in column order.
fn row_object<'env>(
    env: &'env Env,
    table: &store::Table,
    row: u32,
    needs_define: bool,
) -> Result<Object<'env>, NodeError> {
    let mut object = Object::new(env)?;
    if needs_define {
        let mut properties = Vec::with_capacity(table.columns().len());
        for (column, name) in table.columns().iter().enumerate() {
            let value = env.create_string(table.cell(row, column)?)?;
            properties.push(
                Property::new()
                    .with_utf8_name(name)?
                    .with_value(&value)
                    .with_property_attributes(
                        PropertyAttributes::Writable
                            | PropertyAttributes::Enumerable
                            | PropertyAttributes::Configurable,
                    ),
            );
        }
        object.define_properties(&properties)?;
    } else {
        for (column, name) in table.columns().iter().enumerate() {
            object.set_named_property(name, js_string(env, table.cell(row, column)?)?)?;
        }
    }
    Ok(object)
}

/// A JavaScript string of `text`; ASCII text takes V8's Latin-1 path, which copies instead of
/// decoding UTF-8 (most cells and every usual column name are ASCII).
fn js_string<'env>(env: &'env Env, text: &str) -> napi::Result<JsString<'env>> {
    if text.is_ascii() {
        env.create_string_latin1(text.as_bytes())
    } else {
        env.create_string(text)
    }
}

/// The first row of a table whose key equals `key`, as an object; `undefined` when none.
#[napi(ts_return_type = "Record<string, string> | undefined")]
pub fn table_get(
    env: &Env,
    handle: u32,
    table: u32,
    key: String,
) -> napi::Result<Either<Object<'_>, Undefined>> {
    run_sync(env, || {
        with_table(handle, table, |view, needs_define| {
            match view.lookup(key.as_bytes())? {
                Some(row) => Ok(Either::A(row_object(env, view, row, needs_define)?)),
                None => Ok(Either::B(())),
            }
        })
    })
}

/// Row `index` (0-based, source order) of a table as an object; `undefined` out of range.
#[napi(ts_return_type = "Record<string, string> | undefined")]
pub fn table_row(
    env: &Env,
    handle: u32,
    table: u32,
    index: f64,
) -> napi::Result<Either<Object<'_>, Undefined>> {
    run_sync(env, || {
        with_table(handle, table, |view, needs_define| {
            let in_range = index.fract() == 0.0 && index >= 0.0 && index < f64::from(view.len());
            if !in_range {
                return Ok(Either::B(()));
            }
            Ok(Either::A(row_object(
                env,
                view,
                index as u32,
                needs_define,
            )?))
        })
    })
}

/// Every value of column `column` of a table, in row order.
#[napi]
pub fn table_column(
    env: &Env,
    handle: u32,
    table: u32,
    column: String,
) -> napi::Result<Vec<String>> {
    run_sync(env, || {
        with_table(handle, table, |view, _| {
            let index = view.column_index(&column).ok_or_else(|| {
                NodeError::InvalidArg(format!("table '{}' has no column '{column}'", view.name()))
            })?;
            Ok(view
                .column_values(index)?
                .into_iter()
                .map(str::to_owned)
                .collect())
        })
    })
}

//! Lazy access to open datasets by handle: rows by key or number, whole columns, the report.

use std::sync::{Arc, LazyLock};

use modforge_dataset as dataset;
use napi::bindgen_prelude::{Buffer, Either, JsObjectValue, Object, Undefined};
use napi::{Env, JsString, Property, PropertyAttributes};
use napi_derive::napi;

use crate::runtime::{NodeError, Registry, sync};
use crate::store::display;

/// An open dataset and its tables, shared by every handle to it.
struct OpenDataset {
    dataset: dataset::Dataset,
    tables: Vec<dataset::Table>,
    /// Per table: whether a column is named `__proto__` (it must become an own property, so the
    /// row object is built with define semantics).
    needs_define: Vec<bool>,
}

/// Open datasets by handle.
static DATASETS: LazyLock<Registry<OpenDataset>> = LazyLock::new(|| Registry::new("dataset"));

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

/// Registers an open dataset (its mapping reported to V8 as external memory) and describes it.
pub fn register(env: &Env, dataset: dataset::Dataset) -> DatasetInfo {
    let tables = dataset.tables();
    let described: Vec<TableInfo> = tables
        .iter()
        .map(|table| TableInfo {
            name: table.name().to_owned(),
            length: table.len(),
            columns: table.columns().to_vec(),
            key: table
                .key_column()
                .and_then(|column| table.columns().get(column).cloned()),
        })
        .collect();
    let needs_define = tables
        .iter()
        .map(|table| table.columns().iter().any(|column| column == "__proto__"))
        .collect();
    let version = dataset.version().to_owned();
    let path = display(dataset.path());
    let size = dataset.snapshot().image().len() as u64;
    let open = Arc::new(OpenDataset {
        dataset,
        tables,
        needs_define,
    });
    DatasetInfo {
        handle: DATASETS.insert(env, open, size),
        version,
        path,
        tables: described,
    }
}

/// Releases dataset `handle` (its memory map goes when the last user drops it); later calls
/// with the handle throw. Closing twice is harmless.
#[napi]
pub fn dataset_close(env: &Env, handle: u32) {
    DATASETS.remove(env, handle);
}

/// The stored build report of dataset `handle`, as JSON text (`{ tables: [...] }`).
#[napi]
pub fn dataset_report(env: &Env, handle: u32) -> napi::Result<String> {
    sync(env, |_control| {
        Ok(DATASETS.get(handle)?.dataset.report_json().to_owned())
    })
}

/// Runs `f` with table `table` of dataset `handle`.
fn with_table<T>(
    handle: u32,
    table: u32,
    f: impl FnOnce(&dataset::Table, bool) -> Result<T, NodeError>,
) -> Result<T, NodeError> {
    let open = DATASETS.get(handle)?;
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
    table: &dataset::Table,
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
    sync(env, |_control| {
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
    sync(env, |_control| {
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
    sync(env, |_control| {
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

/// The row of a table whose key equals `key` (the first such row), or -1: one native call and a
/// number back; the facade decodes the row's cells itself from [`table_cells`].
#[napi]
pub fn table_lookup(env: &Env, handle: u32, table: u32, key: String) -> napi::Result<f64> {
    sync(env, |_control| {
        with_table(handle, table, |view, _| {
            Ok(view.lookup(key.as_bytes())?.map_or(-1.0, f64::from))
        })
    })
}

/// One column of [`TableCells`].
#[napi(object, object_from_js = false)]
pub struct CellColumn {
    /// Byte position in `bytes` of the column's `length + 1` little-endian `u32` offsets (a
    /// multiple of 4).
    pub offsets: f64,
    /// Byte position in `bytes` of the column's text; cell `r` is `text + o[r] .. text + o[r + 1]`.
    pub text: f64,
    /// True when the text is ASCII (cells decode as Latin-1).
    pub ascii: bool,
}

/// A table's cells for decoding in JavaScript: its columns' offsets and text, checked (ascending
/// offsets inside the text, every cell UTF-8), copied into a `Buffer` of its own.
#[napi(object, object_from_js = false)]
pub struct TableCells {
    /// Every column's offsets and text, back to back.
    pub bytes: Buffer,
    /// Where each column starts in `bytes`, in column order.
    pub columns: Vec<CellColumn>,
}

/// The checked cells of a table, for the facade to decode rows without a native call per row.
/// Checking is linear in the table's size and done once per call; `ERR_MODFORGE_CORRUPT` when a
/// cell is damaged.
#[napi]
pub fn table_cells(env: &Env, handle: u32, table: u32) -> napi::Result<TableCells> {
    sync(env, |control| {
        with_table(handle, table, |view, _| {
            let section = view.cell_section(control)?;
            Ok(TableCells {
                bytes: Buffer::from(section.bytes.to_vec()),
                columns: section
                    .columns
                    .iter()
                    .map(|c| CellColumn {
                        offsets: c.offsets as f64,
                        text: c.text as f64,
                        ascii: c.ascii,
                    })
                    .collect(),
            })
        })
    })
}

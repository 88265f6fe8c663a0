//! Tables as JavaScript passes them (`{ [name]: path | bytes | { columns?, rows } }`), converted
//! on the JavaScript thread into dataset inputs.

use std::path::PathBuf;

use modforge_dataset as dataset;
use napi::ValueType;
use napi::bindgen_prelude::{
    Array, FromNapiValue, JsObjectValue, JsValue, Object, Uint8Array, Unknown,
};

use crate::runtime::NodeError;

/// Tables by name, in the order given.
pub type Tables = Vec<(String, dataset::TableInput)>;

/// Converts `{ [table]: path | bytes | { columns?, rows } }` on the JavaScript thread.
pub fn tables_from_js(tables: &Object) -> Result<Tables, NodeError> {
    let names = Object::keys(tables)?;
    let mut converted = Vec::with_capacity(names.len());
    for name in names {
        // A NUL cannot pass through N-API's property names (C strings), nor be a stored name.
        if name.contains('\0') {
            return Err(NodeError::InvalidArg(format!(
                "table name {name:?} contains NUL"
            )));
        }
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

fn table_input(table: &str, value: Unknown) -> Result<dataset::TableInput, NodeError> {
    if value.get_type()? == ValueType::String {
        let path: String = value.coerce_to_string()?.into_utf8()?.into_owned()?;
        return Ok(dataset::TableInput::CsvPath(PathBuf::from(path)));
    }
    if value.is_typedarray()? || value.is_buffer()? {
        let bytes = Uint8Array::from_unknown(value)?;
        return Ok(dataset::TableInput::CsvBytes(bytes.to_vec()));
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
) -> Result<dataset::TableInput, NodeError> {
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
    Ok(dataset::TableInput::Rows {
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

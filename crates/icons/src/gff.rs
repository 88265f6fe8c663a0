//! The GFF V3.2 subset needed to read a module's HAK list from `module.ifo`
//! (docs/icons.md, "GFF subset").
//!
//! Only the root struct's fields are visited: the list `Mod_HakList` of structs holding the
//! string `Mod_Hak` (NWN2, NWN1 1.69+) and the single root string `Mod_Hak` of older NWN1
//! modules. Every index and offset is checked against its section; nothing recurses.

use modforge_core::Reader;

use crate::error::Error;

/// GFF header length.
const HEADER_LEN: usize = 56;
/// Struct, field and label record lengths.
const STRUCT_LEN: u64 = 12;
const FIELD_LEN: u64 = 12;
const LABEL_LEN: u64 = 16;
/// Field type ids used here.
const TYPE_EXO_STRING: u32 = 10;
const TYPE_LIST: u32 = 15;

/// A section of the file: absolute offset and length (or count x record length).
#[derive(Clone, Copy)]
struct Section {
    offset: u64,
    len: u64,
}

/// The parts of a GFF file this reader uses.
struct Gff<'a> {
    label: &'a str,
    r: Reader<'a>,
    structs: Section,
    fields: Section,
    labels: Section,
    field_data: Section,
    field_indices: Section,
    list_indices: Section,
    /// Field visits left: structs may share field indices, so a hostile file could make the
    /// walk quadratic; a real file visits each field once.
    budget: std::cell::Cell<u64>,
}

/// The HAK names of a module, in list order (first listed ranks highest). Empty names are
/// skipped; names keep any sub-folder they contain.
pub fn hak_list(data: &[u8], label: &str) -> Result<Vec<String>, Error> {
    let gff = Gff::parse(data, label)?;
    let root = gff.root_fields()?;
    let mut haks = Vec::new();
    let mut single = None;
    let mut has_list = false;
    for field in root {
        let (ty, name, value) = gff.field(field)?;
        match (ty, name) {
            (TYPE_LIST, b"Mod_HakList") => {
                has_list = true;
                for st in gff.list(value)? {
                    for f in gff.struct_fields(st)? {
                        let (ty, name, value) = gff.field(f)?;
                        if ty == TYPE_EXO_STRING && name == b"Mod_Hak" {
                            let text = gff.exo_string(value)?;
                            if !text.is_empty() {
                                haks.push(text);
                            }
                        }
                    }
                }
            }
            (TYPE_EXO_STRING, b"Mod_Hak") => single = Some(gff.exo_string(value)?),
            _ => {}
        }
    }
    if !has_list {
        haks.extend(single.filter(|s| !s.is_empty()));
    }
    Ok(haks)
}

impl<'a> Gff<'a> {
    fn parse(data: &'a [u8], label: &'a str) -> Result<Gff<'a>, Error> {
        let r = Reader::new(data);
        let head = r
            .slice_at(0, HEADER_LEN)
            .map_err(|e| Error::short(label, e))?;
        if head.get(4..8) != Some(b"V3.2") {
            return Err(Error::format(
                label,
                4,
                format!(
                    "GFF version V3.2, found {:?}",
                    String::from_utf8_lossy(head.get(4..8).unwrap_or_default())
                ),
            ));
        }
        let pair = |at: usize, record: u64| -> Result<Section, Error> {
            let offset = u64::from(r.u32_le_at(at).map_err(|e| Error::short(label, e))?);
            let count = u64::from(r.u32_le_at(at + 4).map_err(|e| Error::short(label, e))?);
            let len = count * record;
            if offset + len > data.len() as u64 {
                return Err(Error::format(
                    label,
                    at as u64,
                    format!(
                        "a section of {len} bytes at {offset} inside the {}-byte file",
                        data.len()
                    ),
                ));
            }
            Ok(Section { offset, len })
        };
        Ok(Gff {
            label,
            r,
            structs: pair(8, STRUCT_LEN)?,
            fields: pair(16, FIELD_LEN)?,
            labels: pair(24, LABEL_LEN)?,
            field_data: pair(32, 1)?,
            field_indices: pair(40, 1)?,
            list_indices: pair(48, 1)?,
            budget: std::cell::Cell::new(data.len() as u64 / FIELD_LEN + 16),
        })
    }

    fn u32_in(&self, section: Section, at: u64, what: &str) -> Result<u32, Error> {
        if at.checked_add(4).is_none_or(|end| end > section.len) {
            return Err(Error::format(
                self.label,
                section.offset.saturating_add(at),
                format!("a {what} inside its {}-byte section", section.len),
            ));
        }
        self.r
            .u32_le_at((section.offset + at) as usize)
            .map_err(|e| Error::short(self.label, e))
    }

    /// Field indices of struct `index`.
    fn struct_fields(&self, index: u32) -> Result<Vec<u32>, Error> {
        let at = u64::from(index) * STRUCT_LEN;
        let data = self.u32_in(self.structs, at + 4, "struct")?;
        let count = self.u32_in(self.structs, at + 8, "struct")?;
        match count {
            0 => Ok(Vec::new()),
            1 => Ok(vec![data]),
            _ => {
                let bytes = u64::from(count) * 4;
                if u64::from(data) + bytes > self.field_indices.len {
                    return Err(Error::format(
                        self.label,
                        self.structs.offset + at + 8,
                        format!(
                            "{count} field indices at {data} inside the {}-byte field-indices section",
                            self.field_indices.len
                        ),
                    ));
                }
                (0..u64::from(count))
                    .map(|i| {
                        self.u32_in(self.field_indices, u64::from(data) + i * 4, "field index")
                    })
                    .collect()
            }
        }
    }

    fn root_fields(&self) -> Result<Vec<u32>, Error> {
        self.struct_fields(0)
    }

    /// Type, label bytes (NUL padding removed) and data-or-offset of field `index`.
    fn field(&self, index: u32) -> Result<(u32, &'a [u8], u32), Error> {
        let left = self.budget.get();
        if left == 0 {
            return Err(Error::format(
                self.label,
                self.structs.offset,
                "each field visited once (structs share fields in a loop)",
            ));
        }
        self.budget.set(left - 1);
        let at = u64::from(index) * FIELD_LEN;
        let ty = self.u32_in(self.fields, at, "field")?;
        let label_index = self.u32_in(self.fields, at + 4, "field")?;
        let value = self.u32_in(self.fields, at + 8, "field")?;
        let label_at = u64::from(label_index) * LABEL_LEN;
        if label_at + LABEL_LEN > self.labels.len {
            return Err(Error::format(
                self.label,
                self.fields.offset + at + 4,
                format!(
                    "label index {label_index} below the label count {}",
                    self.labels.len / LABEL_LEN
                ),
            ));
        }
        let raw = self
            .r
            .slice_at((self.labels.offset + label_at) as usize, LABEL_LEN as usize)
            .map_err(|e| Error::short(self.label, e))?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Ok((ty, raw.get(..end).unwrap_or_default(), value))
    }

    /// Struct indices of the list at `offset` in ListIndices.
    fn list(&self, offset: u32) -> Result<Vec<u32>, Error> {
        let count = self.u32_in(self.list_indices, u64::from(offset), "list")?;
        let bytes = u64::from(count) * 4;
        if u64::from(offset) + 4 + bytes > self.list_indices.len {
            return Err(Error::format(
                self.label,
                self.list_indices.offset + u64::from(offset),
                format!(
                    "a list of {count} structs inside the {}-byte list-indices section",
                    self.list_indices.len
                ),
            ));
        }
        (0..u64::from(count))
            .map(|i| {
                self.u32_in(
                    self.list_indices,
                    u64::from(offset) + 4 + i * 4,
                    "list entry",
                )
            })
            .collect()
    }

    /// A CExoString at `offset` in FieldData (Windows-1252).
    fn exo_string(&self, offset: u32) -> Result<String, Error> {
        let len = self.u32_in(self.field_data, u64::from(offset), "string length")?;
        let start = u64::from(offset) + 4;
        if start + u64::from(len) > self.field_data.len {
            return Err(Error::format(
                self.label,
                self.field_data.offset + u64::from(offset),
                format!(
                    "a string of {len} bytes inside the {}-byte field-data section",
                    self.field_data.len
                ),
            ));
        }
        let bytes = self
            .r
            .range(self.field_data.offset + start, u64::from(len))
            .map_err(|e| Error::short(self.label, e))?;
        Ok(crate::text::windows_1252(bytes))
    }
}

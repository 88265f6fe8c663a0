//! A minimal GFF V3.2 writer for `module.ifo`: a root struct with CExoString and CResRef fields
//! and the list `Mod_HakList` of structs holding `Mod_Hak`.

/// A root field of the written file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfoField {
    /// A CExoString (type 10).
    Text(&'static str, String),
    /// A CResRef (type 11).
    ResRef(&'static str, String),
    /// `Mod_HakList` (type 15) with these HAK names.
    HakList(Vec<String>),
}

/// Encodes a `module.ifo` with `fields` in the root struct.
pub fn module_ifo(fields: &[IfoField]) -> Vec<u8> {
    let mut structs: Vec<(u32, u32, u32)> = vec![(0xFFFF_FFFF, 0, 0)];
    let mut fields_out: Vec<(u32, u32, u32)> = Vec::new();
    let mut labels: Vec<[u8; 16]> = Vec::new();
    let mut data = Vec::new();
    let mut field_indices: Vec<u32> = Vec::new();
    let mut list_indices: Vec<u32> = Vec::new();
    let mut label = |name: &str| -> u32 {
        let mut l = [0u8; 16];
        l[..name.len()].copy_from_slice(name.as_bytes());
        match labels.iter().position(|x| *x == l) {
            Some(i) => i as u32,
            None => {
                labels.push(l);
                labels.len() as u32 - 1
            }
        }
    };
    let mut root_fields = Vec::new();
    for f in fields {
        match f {
            IfoField::Text(name, text) => {
                let off = data.len() as u32;
                data.extend_from_slice(&(text.len() as u32).to_le_bytes());
                data.extend_from_slice(text.as_bytes());
                root_fields.push(fields_out.len() as u32);
                fields_out.push((10, label(name), off));
            }
            IfoField::ResRef(name, text) => {
                let off = data.len() as u32;
                data.push(text.len() as u8);
                data.extend_from_slice(text.as_bytes());
                root_fields.push(fields_out.len() as u32);
                fields_out.push((11, label(name), off));
            }
            IfoField::HakList(haks) => {
                let list_off = (list_indices.len() * 4) as u32;
                list_indices.push(haks.len() as u32);
                for hak in haks {
                    let off = data.len() as u32;
                    data.extend_from_slice(&(hak.len() as u32).to_le_bytes());
                    data.extend_from_slice(hak.as_bytes());
                    let field = fields_out.len() as u32;
                    fields_out.push((10, label("Mod_Hak"), off));
                    list_indices.push(structs.len() as u32);
                    structs.push((8, field, 1));
                }
                root_fields.push(fields_out.len() as u32);
                fields_out.push((15, label("Mod_HakList"), list_off));
            }
        }
    }
    structs[0] = match root_fields.len() {
        0 => (0xFFFF_FFFF, 0, 0),
        1 => (0xFFFF_FFFF, root_fields[0], 1),
        n => {
            let off = (field_indices.len() * 4) as u32;
            field_indices.extend_from_slice(&root_fields);
            (0xFFFF_FFFF, off, n as u32)
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(b"IFO V3.2");
    let struct_off = 56u32;
    let field_off = struct_off + structs.len() as u32 * 12;
    let label_off = field_off + fields_out.len() as u32 * 12;
    let data_off = label_off + labels.len() as u32 * 16;
    let fi_off = data_off + data.len() as u32;
    let li_off = fi_off + field_indices.len() as u32 * 4;
    for v in [
        struct_off,
        structs.len() as u32,
        field_off,
        fields_out.len() as u32,
        label_off,
        labels.len() as u32,
        data_off,
        data.len() as u32,
        fi_off,
        field_indices.len() as u32 * 4,
        li_off,
        list_indices.len() as u32 * 4,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (a, b, c) in &structs {
        for v in [a, b, c] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for (a, b, c) in &fields_out {
        for v in [a, b, c] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for l in &labels {
        out.extend_from_slice(l);
    }
    out.extend_from_slice(&data);
    for v in field_indices.iter().chain(&list_indices) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_sections() {
        let ifo = module_ifo(&[
            IfoField::Text("Mod_Tag", "bench".into()),
            IfoField::HakList(vec!["a".into(), "b".into()]),
        ]);
        assert_eq!(&ifo[..8], b"IFO V3.2");
        assert_eq!(u32::from_le_bytes(ifo[8..12].try_into().unwrap()), 56);
        assert_eq!(
            u32::from_le_bytes(ifo[12..16].try_into().unwrap()),
            3,
            "root + two list structs"
        );
    }
}

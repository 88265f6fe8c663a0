//! The dataset payload's plug-in for `inspect` and `verify` of modforge-store: the structural
//! check of opening, and for `verify` the walk over every offset, cell and index slot
//! (docs/store.md, "Datasets").

use modforge_core::Control;
use modforge_store::{Check, Error, Examination, PayloadKind, Reason, ReasonCode, Snapshot};
use serde_json::json;

use crate::layout::DATASET_KIND;
use crate::view::Dataset;

/// Checks `modforge.dataset@1` payloads for modforge-store's `inspect` and `verify`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DatasetPayload;

impl PayloadKind for DatasetPayload {
    fn kind(&self) -> &'static str {
        DATASET_KIND
    }

    fn examine(
        &self,
        snapshot: &Snapshot,
        deep: bool,
        control: &Control<'_>,
    ) -> Result<Examination, Error> {
        let dataset = match Dataset::from_snapshot_with(snapshot.clone(), control)? {
            Ok(dataset) => dataset,
            Err(reason) => {
                return Ok(Examination {
                    checks: vec![Check::new("structure", Err(reason))],
                    details: serde_json::Value::Null,
                });
            }
        };
        let mut checks = vec![Check::new("structure", Ok(()))];
        let tables: Vec<serde_json::Value> = dataset
            .tables()
            .iter()
            .map(|table| {
                json!({
                    "name": table.name(),
                    "rows": table.len(),
                    "columns": table.columns(),
                    "key": table.key_column().and_then(|key| table.columns().get(key)),
                    "indexSlots": table.index_slots(),
                    "bytes": table.byte_size(),
                })
            })
            .collect();
        let report: serde_json::Value =
            serde_json::from_str(dataset.report_json()).unwrap_or(serde_json::Value::Null);
        let mut details = json!({ "tables": tables, "report": report });
        if deep {
            control.check()?;
            let result = match dataset.verify_cells_with(control) {
                Ok(counts) => {
                    details["cells"] = json!(counts.cells);
                    details["indexed"] = json!(counts.indexed);
                    Ok(())
                }
                Err(Error::Corrupt { offset, detail, .. }) => Err(Reason::corrupt(offset, detail)),
                Err(Error::Aborted) => return Err(Error::Aborted),
                Err(other) => Err(Reason::new(ReasonCode::Corrupt, other.to_string())),
            };
            checks.push(Check::new("cells", result));
        }
        Ok(Examination { checks, details })
    }
}

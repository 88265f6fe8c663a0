//! Datasets of modforge-dataset: options, the open-or-build plan, and lazy access by handle to
//! the tables of an open dataset (docs/store.md, "Datasets").

mod access;
mod tables;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use modforge_core::Control;
use modforge_dataset as dataset;
use napi::Env;
use napi::bindgen_prelude::{Either, Object, PromiseRaw};
use napi_derive::napi;

use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise, sync};
use crate::store::{RejectReason, SnapshotSource, display};
use access::{DatasetInfo, register};
use tables::{Tables, tables_from_js};

/// What happens to a row whose key an earlier row already has.
#[napi(string_enum = "lowercase")]
pub enum DuplicatePolicy {
    /// The first row with a key is indexed; later ones are kept, counted and listed (default).
    First,
    /// The build fails on the first duplicated key.
    Error,
}

/// What happens to a row with more fields than the header.
#[napi(string_enum = "camelCase")]
pub enum RaggedPolicy {
    /// Extra fields are joined into the last column and the row is reported (default).
    JoinLast,
    /// The build fails on the first ragged row.
    Error,
}

/// Options of a dataset; every field but `dir` and `name` optional.
#[napi(object)]
pub struct DatasetOptions {
    /// Folder of the snapshot files.
    pub dir: String,
    /// The dataset's name.
    pub name: String,
    /// The data version; or take it from `versionColumn`.
    pub version: Option<String>,
    /// A column carrying the version in every row of every table; removed from the stored tables.
    pub version_column: Option<String>,
    /// What the dataset is built from; default: the content of the CSV files.
    pub source: Option<SnapshotSource>,
    /// Key column for every table, or per table name; default: each table's first column.
    pub key: Option<Either<String, HashMap<String, String>>>,
    /// Duplicate keys; default `first`.
    pub duplicates: Option<DuplicatePolicy>,
    /// Rows with more fields than the header; default `joinLast`.
    pub ragged: Option<RaggedPolicy>,
    /// The CSV field delimiter: `,` (default), `;`, a tab or `|`.
    pub delimiter: Option<String>,
}

impl DatasetOptions {
    fn resolve(self) -> Result<dataset::DatasetOptions, NodeError> {
        let mut options = dataset::DatasetOptions::new(self.dir, self.name);
        options.version = self.version;
        options.version_column = self.version_column;
        options.source = self.source.map(SnapshotSource::into_source).transpose()?;
        options.keys = match self.key {
            None => dataset::Keys::First,
            Some(Either::A(column)) => dataset::Keys::Column(column),
            Some(Either::B(per_table)) => dataset::Keys::PerTable(per_table.into_iter().collect()),
        };
        options.duplicates = match self.duplicates {
            None | Some(DuplicatePolicy::First) => dataset::DuplicatePolicy::First,
            Some(DuplicatePolicy::Error) => dataset::DuplicatePolicy::Error,
        };
        options.ragged = match self.ragged {
            None | Some(RaggedPolicy::JoinLast) => dataset::RaggedPolicy::JoinLast,
            Some(RaggedPolicy::Error) => dataset::RaggedPolicy::Error,
        };
        if let Some(delimiter) = self.delimiter {
            options.delimiter = match delimiter.as_bytes() {
                [byte] if dataset::DELIMITERS.contains(byte) => *byte,
                _ => {
                    return Err(NodeError::InvalidArg(format!(
                        "option `delimiter` must be ',', ';', a tab or '|', got {delimiter:?}"
                    )));
                }
            };
        }
        Ok(options)
    }
}

/// A dataset request with its source fingerprinted: `load` tries the file on disk, `build`
/// builds from the tables and writes the snapshot.
#[napi]
pub struct DatasetPlan {
    plan: Arc<dataset::DatasetPlan>,
    /// Tables given inline when the plan was made (consumed by `build`).
    inline: Arc<Mutex<Option<Tables>>>,
}

fn make_plan(
    options: DatasetOptions,
    tables: Option<Tables>,
    control: &Control<'_>,
) -> Result<DatasetPlan, NodeError> {
    control.check()?;
    let plan = dataset::DatasetPlan::new_with(options.resolve()?, tables.as_deref(), control)?;
    Ok(DatasetPlan {
        plan: Arc::new(plan),
        inline: Arc::new(Mutex::new(tables)),
    })
}

/// Validates the options, converts inline tables and fingerprints the source off the main thread.
#[napi(ts_return_type = "Promise<DatasetPlan>")]
pub fn plan_dataset<'env>(
    env: &'env Env,
    options: DatasetOptions,
    #[napi(
        ts_arg_type = "Record<string, string | Uint8Array | { columns?: string[]; rows: unknown[] }>"
    )]
    tables: Option<Object>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, DatasetPlan>> {
    let tables = sync(env, |_control| {
        tables.as_ref().map(tables_from_js).transpose()
    })?;
    promise(
        env,
        "dataset",
        Call::new(cancel, None),
        move |control| make_plan(options, tables, control),
        |_env, plan| Ok(plan),
    )
}

/// Validates the options, converts inline tables and fingerprints the source on the calling thread.
#[napi]
pub fn plan_dataset_sync(
    env: &Env,
    options: DatasetOptions,
    #[napi(
        ts_arg_type = "Record<string, string | Uint8Array | { columns?: string[]; rows: unknown[] }>"
    )]
    tables: Option<Object>,
) -> napi::Result<DatasetPlan> {
    sync(env, |control| {
        make_plan(
            options,
            tables.as_ref().map(tables_from_js).transpose()?,
            control,
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

fn loaded(env: &Env, outcome: Result<dataset::Dataset, modforge_store::Reason>) -> DatasetLoad {
    match outcome {
        Ok(dataset) => DatasetLoad {
            dataset: Some(register(env, dataset)),
            reason: None,
        },
        Err(reason) => DatasetLoad {
            dataset: None,
            reason: Some(reason.into()),
        },
    }
}

fn build(
    plan: &dataset::DatasetPlan,
    tables: Tables,
    control: &Control<'_>,
) -> Result<modforge_store::Opened<dataset::Dataset>, NodeError> {
    let hooks = modforge_store::Hooks {
        control: *control,
        ..Default::default()
    };
    Ok(plan.build(tables, None, &hooks)?)
}

fn built(env: &Env, opened: modforge_store::Opened<dataset::Dataset>) -> DatasetBuilt {
    DatasetBuilt {
        path: display(&opened.path),
        persisted: opened.persisted,
        persist_error: opened
            .persist_error
            .map(|err| NodeError::from(err).into_napi(env)),
        dataset: register(env, opened.value),
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
    /// The snapshot file of an explicit version (`null` when the version comes from a column).
    #[napi(getter)]
    pub fn path(&self) -> Option<String> {
        self.plan.path().map(|path| display(&path))
    }

    /// Opens the snapshot on disk if it passes every check (off the main thread); `cancel`
    /// stops reading and validating it (the call then rejects with `ABORT_ERR`).
    #[napi(ts_return_type = "Promise<DatasetLoad>")]
    pub fn load<'env>(
        &self,
        env: &'env Env,
        cancel: Option<&CancelFlag>,
    ) -> napi::Result<PromiseRaw<'env, DatasetLoad>> {
        let plan = Arc::clone(&self.plan);
        promise(
            env,
            "dataset",
            Call::new(cancel, None),
            move |control| Ok(plan.load_with(control)?),
            |env, outcome| Ok(loaded(env, outcome)),
        )
    }

    /// Opens the snapshot on disk if it passes every check, on the calling thread.
    #[napi]
    pub fn load_sync(&self, env: &Env) -> napi::Result<DatasetLoad> {
        let outcome = sync(env, |control| Ok(self.plan.load_with(control)?))?;
        Ok(loaded(env, outcome))
    }

    /// Builds from `tables` (or the tables given to the plan) and writes the snapshot, off the
    /// main thread. Progress: stages `parse` and `build` (rows), then `write` (bytes of the file).
    /// Write failures are reported in the result.
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
        let tables = sync(env, |_control| self.take_tables(tables.as_ref()))?;
        let plan = Arc::clone(&self.plan);
        promise(
            env,
            "dataset",
            Call::new(cancel, on_progress),
            move |control| build(&plan, tables, control),
            |env, opened| Ok(built(env, opened)),
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
        let opened = sync(env, |control| {
            build(&self.plan, self.take_tables(tables.as_ref())?, control)
        })?;
        Ok(built(env, opened))
    }
}

fn open_file(path: &str, control: &Control<'_>) -> Result<dataset::Dataset, NodeError> {
    Ok(dataset::Dataset::open_file(
        std::path::Path::new(path),
        control,
    )?)
}

/// Opens a dataset snapshot shipped with an application, by path and read-only: every container
/// and structure check and the kind, no data version and no source (off the main thread).
/// Rejects with `ERR_MODFORGE_IO` (missing), `ERR_MODFORGE_FORMAT` (another kind),
/// `ERR_MODFORGE_CORRUPT`, `ERR_MODFORGE_INVALID_ARG` (a FIFO or device) or `ABORT_ERR`.
#[napi(ts_return_type = "Promise<DatasetInfo>")]
pub fn open_dataset_file<'env>(
    env: &'env Env,
    path: String,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, DatasetInfo>> {
    promise(
        env,
        "dataset",
        Call::new(cancel, None),
        move |control| open_file(&path, control),
        |env, dataset| Ok(register(env, dataset)),
    )
}

/// [`open_dataset_file`] on the calling thread.
#[napi]
pub fn open_dataset_file_sync(env: &Env, path: String) -> napi::Result<DatasetInfo> {
    let dataset = sync(env, |control| open_file(&path, control))?;
    Ok(register(env, dataset))
}

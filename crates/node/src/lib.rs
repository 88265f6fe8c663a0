//! Node.js bindings of modforge: argument conversion, tasks, progress, cancellation and error
//! mapping. Every capability lives in its own napi-free crate; nothing here implements one.

#![deny(clippy::all)]
// napi-derive registers the exported items only outside `cfg(test)`, so in the unit-test build
// everything JavaScript calls looks unused.
#![cfg_attr(test, allow(dead_code))]

mod cancel;
mod convert;
mod dataset;
mod delivery;
mod error;
mod generate;
mod guard;
mod profile;
mod progress;
mod store;
mod task;

//! Node.js bindings of modforge: argument conversion and call plumbing only. Every capability
//! lives in its own napi-free crate; each folder here converts one capability's options and
//! results, and [`runtime`] holds what every binding shares.

// napi-derive registers the exported items only outside `cfg(test)`, so in the unit-test build
// everything JavaScript calls looks unused.
#![cfg_attr(test, allow(dead_code))]

mod dataset;
mod generate;
mod icons;
mod overlay;
mod profile;
mod rom;
mod runtime;
mod store;

//! NWN2 resources and icons of modforge-icons: `discover`, the resource index and the icon cache
//! by handle (docs/icons.md, "Node API").

mod cache;
mod convert;
mod erf;
mod index;
mod options;

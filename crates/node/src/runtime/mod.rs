//! The call plumbing every capability's binding uses, once: error mapping, panic containment,
//! cancellation, progress, tracked callbacks, the Promise and Sync forms, the handle registry and
//! validation of numbers from JavaScript.

pub mod call;
pub mod cancel;
pub mod channel;
pub mod convert;
pub mod delivery;
pub mod error;
pub mod guard;
pub mod progress;
pub mod registry;

pub use call::{Call, promise, sync};
pub use cancel::CancelFlag;
pub use error::NodeError;
pub use progress::ProgressCallback;
pub use registry::Registry;

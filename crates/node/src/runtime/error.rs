//! The one place where errors of every capability crate become JavaScript `Error` objects with the
//! stable `code` values listed in the README ("Errors").

use modforge_core::{Categorize, Category};
use napi::bindgen_prelude::{JsObjectValue, JsValue, Object};
use napi::{Env, Status};

/// An error on its way to JavaScript: the stable code plus the context properties that code carries.
#[derive(Debug)]
pub enum NodeError {
    /// `ERR_MODFORGE_IO`: an operating-system call failed.
    Io {
        /// Human-readable message, Node style (`EACCES: permission denied, opendir '/x'`).
        message: String,
        /// The OS error number as the OS reports it (positive), when there is one.
        errno: Option<i32>,
        /// The failing call (`open`, `opendir`, `rename`, ...).
        syscall: String,
        /// The path the call was made on.
        path: String,
    },
    /// `ERR_MODFORGE_FORMAT`: input does not follow its format.
    Format {
        /// What was wrong and what was expected.
        message: String,
        /// The file (or input name) in question.
        file: String,
        /// Byte offset of the problem in that file.
        offset: u64,
    },
    /// `ERR_MODFORGE_CORRUPT`: a checksum or a structural check failed.
    Corrupt {
        /// What failed.
        message: String,
        /// The file in question.
        file: String,
        /// Byte offset of the problem, when known.
        offset: Option<u64>,
    },
    /// `ERR_MODFORGE_INVALID_ARG`: the caller passed an invalid argument or option.
    InvalidArg(String),
    /// `ERR_MODFORGE_LIMIT`: a documented size or count limit was exceeded.
    Limit(String),
    /// `ABORT_ERR`: the operation was cancelled through its `AbortSignal`.
    Aborted,
    /// `ERR_MODFORGE_INTERNAL`: a bug (a caught panic, or an unexpected N-API failure).
    Internal(String),
}

impl NodeError {
    /// The stable `code` property of the JavaScript error.
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::Io { .. } => "ERR_MODFORGE_IO",
            NodeError::Format { .. } => "ERR_MODFORGE_FORMAT",
            NodeError::Corrupt { .. } => "ERR_MODFORGE_CORRUPT",
            NodeError::InvalidArg(_) => "ERR_MODFORGE_INVALID_ARG",
            NodeError::Limit(_) => "ERR_MODFORGE_LIMIT",
            NodeError::Aborted => "ABORT_ERR",
            NodeError::Internal(_) => "ERR_MODFORGE_INTERNAL",
        }
    }

    /// The `message` property of the JavaScript error.
    pub fn message(&self) -> String {
        match self {
            NodeError::Io { message, .. }
            | NodeError::Format { message, .. }
            | NodeError::Corrupt { message, .. } => message.clone(),
            NodeError::InvalidArg(message) | NodeError::Limit(message) => message.clone(),
            NodeError::Aborted => "The operation was aborted".to_owned(),
            NodeError::Internal(message) => {
                format!("internal error (this is a bug in modforge, please report it): {message}")
            }
        }
    }

    /// Builds an `Io` error from an `std::io::Error`, naming the call and the path.
    pub fn io(source: &std::io::Error, syscall: &str, path: &std::path::Path) -> Self {
        let path = path.to_string_lossy().into_owned();
        let errno = source.raw_os_error();
        let name = errno.map_or("EIO", errno_name);
        NodeError::Io {
            message: format!("{name}: {}, {syscall} '{path}'", describe_io(source)),
            errno,
            syscall: syscall.to_owned(),
            path,
        }
    }

    /// Creates the JavaScript `Error` object carrying the code and context properties.
    pub fn to_js<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut object =
            env.create_error(napi::Error::new(Status::GenericFailure, self.message()))?;
        object.set_named_property("code", self.code())?;
        match self {
            NodeError::Io {
                errno,
                syscall,
                path,
                ..
            } => {
                if let Some(errno) = errno {
                    object.set_named_property("errno", *errno)?;
                }
                object.set_named_property("syscall", syscall.as_str())?;
                object.set_named_property("path", path.as_str())?;
            }
            NodeError::Format { file, offset, .. } => {
                object.set_named_property("file", file.as_str())?;
                object.set_named_property("offset", *offset as f64)?;
            }
            NodeError::Corrupt { file, offset, .. } => {
                object.set_named_property("file", file.as_str())?;
                if let Some(offset) = offset {
                    object.set_named_property("offset", *offset as f64)?;
                }
            }
            NodeError::Aborted => object.set_named_property("name", "AbortError")?,
            NodeError::InvalidArg(_) | NodeError::Limit(_) | NodeError::Internal(_) => {}
        }
        Ok(object)
    }

    /// Converts into a `napi::Error` that throws (or rejects with) the object of [`NodeError::to_js`].
    pub fn into_napi(self, env: &Env) -> napi::Error {
        match self.to_js(env) {
            Ok(object) => napi::Error::from(object.to_unknown()),
            Err(err) => err,
        }
    }
}

impl From<napi::Error> for NodeError {
    /// An unexpected N-API failure while converting values is an internal error.
    fn from(err: napi::Error) -> Self {
        NodeError::Internal(format!("{}: {}", err.status.as_ref(), err.reason))
    }
}

impl NodeError {
    /// Maps any capability error by its category (the one mapping of every crate's errors).
    pub fn from_categorized(err: &(impl Categorize + ?Sized)) -> Self {
        let message = err.to_string();
        match err.category() {
            Category::Io {
                source,
                syscall,
                path,
            } => NodeError::io(source, syscall, path),
            Category::Format { file, offset } => NodeError::Format {
                message,
                file: file.to_owned(),
                offset,
            },
            Category::Corrupt { file, offset } => NodeError::Corrupt {
                message,
                file: file.to_owned(),
                offset,
            },
            Category::InvalidArg => NodeError::InvalidArg(message),
            Category::Limit => NodeError::Limit(message),
            Category::Aborted => NodeError::Aborted,
            Category::Internal => NodeError::Internal(message),
        }
    }
}

/// `From` for every capability crate's error type, through [`NodeError::from_categorized`].
macro_rules! categorized {
    ($($error:ty),* $(,)?) => {
        $(
            impl From<$error> for NodeError {
                fn from(err: $error) -> Self {
                    NodeError::from_categorized(&err)
                }
            }
        )*
    };
}

impl From<modforge_core::Aborted> for NodeError {
    fn from(_: modforge_core::Aborted) -> Self {
        NodeError::Aborted
    }
}

categorized!(
    modforge_walk::Error,
    modforge_icons::Error,
    modforge_store::Error,
    modforge_gen::Error,
    modforge_overlay::Error,
    modforge_rom::Error,
);

/// The part of an `io::Error` message after the OS prefix, lower-case like libuv's messages.
fn describe_io(source: &std::io::Error) -> String {
    let text = source.to_string();
    // std formats OS errors as "Permission denied (os error 13)".
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The POSIX name of an errno value (`EACCES`), as Node reports it in `code`; `UNKNOWN` when unmapped.
pub fn errno_name(errno: i32) -> &'static str {
    modforge_core::errno_name(errno)
}

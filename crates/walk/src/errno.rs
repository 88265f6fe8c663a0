//! The few operating-system errors the walker raises itself.

use std::io;

/// "Too many levels of symbolic links": a followed link that leads back to one of its ancestors.
pub(crate) fn symlink_loop() -> io::Error {
    #[cfg(unix)]
    let code = rustix::io::Errno::LOOP.raw_os_error();
    #[cfg(not(unix))]
    let code = 1921; // ERROR_CANT_RESOLVE_FILENAME
    io::Error::from_raw_os_error(code)
}

/// "Not a directory": the root given to a walk is not a directory.
pub(crate) fn not_a_directory() -> io::Error {
    #[cfg(unix)]
    let code = rustix::io::Errno::NOTDIR.raw_os_error();
    #[cfg(not(unix))]
    let code = 267; // ERROR_DIRECTORY
    io::Error::from_raw_os_error(code)
}

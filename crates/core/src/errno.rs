//! POSIX names of operating-system error codes, as Node reports them in `code`.

use std::io;

/// The POSIX name of `err`'s OS code (`"EACCES"`, `"ENOENT"`, ...), or `"UNKNOWN"`.
pub fn io_code_name(err: &io::Error) -> &'static str {
    err.raw_os_error().map_or("UNKNOWN", errno_name)
}

/// The POSIX name of an OS error number (`13` -> `"EACCES"` on Linux), as Node reports it in
/// `code`; Windows error codes map to the nearest POSIX name; `"UNKNOWN"` when unnamed.
pub fn errno_name(code: i32) -> &'static str {
    name_of(code)
}

#[cfg(unix)]
fn name_of(code: i32) -> &'static str {
    const NAMES: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::EIO, "EIO"),
        (libc::ENXIO, "ENXIO"),
        (libc::EBADF, "EBADF"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBUSY, "EBUSY"),
        (libc::EEXIST, "EEXIST"),
        (libc::EXDEV, "EXDEV"),
        (libc::ENODEV, "ENODEV"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENFILE, "ENFILE"),
        (libc::EMFILE, "EMFILE"),
        (libc::EFBIG, "EFBIG"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EROFS, "EROFS"),
        (libc::EMLINK, "EMLINK"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::ENOTEMPTY, "ENOTEMPTY"),
        (libc::ELOOP, "ELOOP"),
        (libc::EOVERFLOW, "EOVERFLOW"),
        (libc::ESTALE, "ESTALE"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::ENOTCONN, "ENOTCONN"),
        (libc::EINTR, "EINTR"),
    ];
    NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("UNKNOWN", |(_, n)| n)
}

// Windows system error codes (winerror.h) mapped to the POSIX names the report uses.
#[cfg(windows)]
fn name_of(code: i32) -> &'static str {
    match code {
        5 => "EACCES",         // ERROR_ACCESS_DENIED
        2 | 3 => "ENOENT",     // ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND
        206 => "ENAMETOOLONG", // ERROR_FILENAME_EXCED_RANGE
        267 => "ENOTDIR",      // ERROR_DIRECTORY
        1921 => "ELOOP",       // ERROR_CANT_RESOLVE_FILENAME
        _ => "UNKNOWN",
    }
}

#[cfg(not(any(unix, windows)))]
fn name_of(_code: i32) -> &'static str {
    "UNKNOWN"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn names_common_codes() {
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_name(libc::ENOENT), "ENOENT");
        assert_eq!(errno_name(-12345), "UNKNOWN");
        assert_eq!(
            io_code_name(&io::Error::from_raw_os_error(libc::ELOOP)),
            "ELOOP"
        );
        assert_eq!(io_code_name(&io::Error::other("x")), "UNKNOWN");
    }
}

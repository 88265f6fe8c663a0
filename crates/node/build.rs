//! Links the addon against the Node-API symbols of the host process, and on x86_64 Linux with
//! cargo's default linker (LLD) places the functions that loading the package and a warm start
//! run next to each other (docs/startup.md, "Code layout").

use std::env;
use std::path::Path;

/// The functions to place first, as their linker symbols (`npm run warm-order` writes it).
const ORDER_FILE: &str = "warm-start.order";

fn main() {
    napi_build::setup();
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(ORDER_FILE);
    // `--symbol-ordering-file` is an LLD option, and LLD is cargo's default linker for this
    // target only. Cargo sets `RUSTC_LINKER` when a linker is configured (napi-rs's cross
    // toolchain configures its own GCC): such a build links as before.
    if env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
        && env::var_os("RUSTC_LINKER").is_none()
        && order.is_file()
    {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names a later build no longer has are passed over: a stale list costs speed only.
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-warn-symbol-ordering");
    }
}

//! Writes `jwtgate.pc` next to the built libraries (`target/<profile>/`), so
//! `PKG_CONFIG_PATH=target/release cc app.c $(pkg-config --cflags --libs jwtgate)`
//! works straight from a build. The header is not generated here: it is
//! checked in and compared by `check-header.sh`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out.
    let Some(profile_dir) = out_dir.ancestors().nth(3) else { return };
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let include = manifest.parent().unwrap_or(&manifest).join("include");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let pc = format!(
        "libdir={lib}\nincludedir={inc}\n\nName: jwtgate\nDescription: JSON Web Token verification for API gateways\n\
         Version: {version}\nCflags: -I${{includedir}}\nLibs: -L${{libdir}} -Wl,-rpath,${{libdir}} -ljwtgate\n\
         Libs.private: -lpthread -ldl -lm\n",
        lib = profile_dir.display(),
        inc = include.display(),
    );
    if let Err(e) = std::fs::write(profile_dir.join("jwtgate.pc"), pc) {
        println!("cargo:warning=could not write jwtgate.pc: {e}");
    }
}

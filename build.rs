//! Links the `engine` binary as a position-dependent executable on Linux.
//!
//! Why: a PIE build of this binary carries ~80,000 dynamic relocations (1.9 MB of `.rela.dyn`)
//! that the loader reads and applies at every start, which also turns all of `.data.rel.ro`
//! (1.9 MB of vtables and string tables) into private dirty pages. Together that is about 4 MiB
//! of an idle `engine run` that does nothing else (19.5 → 13.5 MiB RSS, `benches/startup.sh`),
//! and issue 9 asks for at most 15. Bento's Go binaries are not PIE either; the cost is that
//! the binary's own code is not placed at a random address. The library and the tests are
//! unaffected: `rustc-link-arg-bins` applies to binary targets only.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

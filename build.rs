//! Generates the Sofia-SIP bindings (libsofia-sip-ua, NUA) into `OUT_DIR/sofia.rs`.
//!
//! It owns nothing but code generation: the SIP room includes the output from
//! `src/sip/ffi/bindings.rs`. It must never hand-edit or vendor generated code.
//! The tricky part is the allowlist: Sofia's headers pull in half of libc, and the C
//! tag macros (`NUTAG_URL(x)`) are not generated, only the `nutag_*` statics they
//! expand to; `vsnprintf` is kept so Sofia's log lines (a `va_list`) can be
//! formatted on our side.

fn main() {
    let lib = match pkg_config::probe_library("sofia-sip-ua") {
        Ok(lib) => lib,
        Err(e) => {
            // A build script can only report by panicking; say what to install.
            panic!("pkg-config cannot find sofia-sip-ua ({e}); install libsofia-sip-ua-dev");
        }
    };
    let header = [
        "stdio.h",
        "sofia-sip/su.h",
        "sofia-sip/su_wait.h",
        "sofia-sip/su_log.h",
        "sofia-sip/su_tag.h",
        "sofia-sip/nua.h",
        "sofia-sip/nua_tag.h",
        "sofia-sip/sip.h",
        "sofia-sip/sip_tag.h",
        "sofia-sip/sip_header.h",
        "sofia-sip/sip_status.h",
        "sofia-sip/msg_addr.h",
        "sofia-sip/msg_header.h",
        "sofia-sip/url.h",
        "sofia-sip/tport_tag.h",
    ]
    .iter()
    .map(|h| format!("#include <{h}>\n"))
    .collect::<String>();

    let mut builder = bindgen::Builder::default()
        .header_contents("sofia_wrapper.h", &header)
        .layout_tests(false)
        .opaque_type("msg_hclass_s")
        .allowlist_function("(nua|su|sip|msg|tport|tl|url)_.*")
        .allowlist_function("vsnprintf")
        .allowlist_var("(nutag|siptag|soatag|tptag|tag|sutag|ntatag|su_log)_.*")
        .allowlist_type("(nua|su|sip|msg|tagi|tag|url)_.*")
        .derive_default(true)
        .prepend_enum_name(false)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for path in &lib.include_paths {
        builder = builder.clang_arg(format!("-I{}", path.display()));
    }
    let bindings = match builder.generate() {
        Ok(b) => b,
        Err(e) => panic!("bindgen failed on the Sofia-SIP headers: {e}"),
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = bindings.write_to_file(out.join("sofia.rs")) {
        panic!("cannot write the Sofia-SIP bindings: {e}");
    }
}

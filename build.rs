//! Generates the Sofia-SIP bindings (libsofia-sip-ua, NUA) into `OUT_DIR/sofia.rs`.
//!
//! It owns nothing but code generation: the SIP room includes the output from
//! `src/sip/ffi/bindings.rs`. It must never hand-edit or vendor generated code.
//! The tricky part is the allowlist: Sofia's headers pull in half of libc, and the C
//! tag macros (`NUTAG_URL(x)`) are not generated, only the `nutag_*` statics they
//! expand to; `vsnprintf` is kept so Sofia's log lines (a `va_list`) can be
//! formatted on our side.
//!
//! It also keeps `web/dist` (the web panel, built by `make web` and embedded by
//! `src/api/web.rs`) present: on a fresh clone it writes a placeholder page there, so
//! `cargo build` works before any npm step, and it asks cargo to build again when the
//! built files change, so a release binary embeds the app it was built after.

fn main() {
    web_dist();
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

/// A placeholder `web/dist/index.html` when the app was never built, and a rebuild
/// whenever `web/dist` changes (vite replaces every file in it).
fn web_dist() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dist = std::path::Path::new(&manifest).join("web").join("dist");
    if !dist.join("index.html").exists() {
        let page = "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
                    <title>callbox</title></head><body>\n\
                    <!-- callbox: web panel not built -->\n\
                    <p>网页面板尚未构建:请运行 <code>make web</code>(或 <code>make build</code>)。</p>\n\
                    <p>The web panel is not built: run <code>make web</code> (or <code>make build</code>).</p>\n\
                    </body></html>\n";
        let written = std::fs::create_dir_all(&dist)
            .and_then(|()| std::fs::write(dist.join("index.html"), page));
        if let Err(e) = written {
            println!(
                "cargo:warning=cannot write a placeholder {}: {e}",
                dist.display()
            );
        }
    }
    println!("cargo:rerun-if-changed=web/dist");
}

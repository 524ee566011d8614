//! House rules that a reviewer would otherwise have to remember: every file says
//! what it is for, and the rooms keep to their walls (see docs/ARCHITECTURE.md).
//!
//! The checks read the source as text; they are deliberately simple, so a rule that
//! needs an exception should change here with a sentence saying why.

use std::path::{Path, PathBuf};

fn rust_files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Lines that are code, not comments (good enough for these checks).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with("//"))
}

#[test]
fn every_file_starts_with_a_module_doc() {
    let mut missing = Vec::new();
    for dir in ["src", "tests", "benches"] {
        for file in rust_files(dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.starts_with("//!") {
                missing.push(relative(&file));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a //! paragraph saying what they own: {missing:#?}"
    );
}

#[test]
fn unsafe_code_lives_only_in_the_sip_ffi() {
    let mut strays = Vec::new();
    for file in rust_files("src") {
        let name = relative(&file);
        if name.starts_with("src/sip/ffi/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        if code_lines(&text).any(|l| l.contains("unsafe ") || l.contains("unsafe{")) {
            strays.push(name);
        }
    }
    assert!(strays.is_empty(), "unsafe outside src/sip/ffi: {strays:?}");
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("#![deny(unsafe_code)]"),
        "the crate denies unsafe code by default"
    );
}

#[test]
fn the_core_touches_no_clock_socket_thread_sql_or_other_room() {
    let forbidden = [
        "Instant::now",
        "SystemTime",
        "Utc::now",
        "std::thread",
        "std::net::UdpSocket",
        "crossbeam",
        "rusqlite",
        "crate::sip",
        "crate::media",
        "crate::store",
        "crate::api",
        "crate::daemon",
        "std::fs",
    ];
    let mut found = Vec::new();
    for file in rust_files("src/core") {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in code_lines(&text) {
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!("{}: {word}", relative(&file)));
                }
            }
        }
    }
    assert!(found.is_empty(), "core must stay pure: {found:#?}");
}

#[test]
fn only_the_store_speaks_sql_and_only_the_api_speaks_http() {
    let mut found = Vec::new();
    for file in rust_files("src") {
        let name = relative(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        for line in code_lines(&text) {
            if line.contains("rusqlite") && !name.starts_with("src/store/") {
                found.push(format!("{name}: rusqlite"));
            }
            if line.contains("tiny_http") && !name.starts_with("src/api/") {
                found.push(format!("{name}: tiny_http"));
            }
        }
    }
    assert!(found.is_empty(), "rooms crossed: {found:#?}");
}

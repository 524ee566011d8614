//! The web panel's files (the Vue app built from `web/` into `web/dist`), served from
//! the binary.
//!
//! Owns nothing but the mapping from a URL path to an embedded file; the app talks
//! to the rest of the daemon only through `/api/v1`. rust-embed embeds `web/dist` in
//! release builds and reads it from disk in debug ones; `build.rs` leaves a
//! placeholder page there until `make web` builds the app.
//!
//! Caching: `index.html` is `no-cache` (it names the assets of this build); files
//! under `/assets/` carry a content hash in their names, so they are cached for a
//! year. A path of the app's own (no file extension, not under `/assets/`) answers
//! `index.html`, so the app's history-mode routes survive a reload; a missing file
//! is a 404. Nothing outside the embedded folder is reachable: rust-embed only knows
//! its own files, and a path with a `..` (or any hidden segment, such as make's
//! `web/dist/.built` stamp), a backslash or a NUL is refused first.

use rust_embed::RustEmbed;

use super::routes::{Answer, error};

#[derive(RustEmbed)]
#[folder = "web/dist"]
#[allow_missing = true]
struct Dist;

/// Hashed, immutable build output.
const ASSETS: &str = "assets/";
const INDEX: &str = "index.html";
const LONG_CACHE: &str = "public, max-age=31536000, immutable";

/// The file for `path`, or the app's `index.html` for its own routes.
pub fn serve(path: &str) -> Answer {
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|segment| segment.starts_with('.'))
        || rel.contains(['\\', '\0'])
        || rel.contains("%2e")
        || rel.contains("%2E")
    {
        return not_found();
    }
    let rel = if rel.is_empty() || rel.ends_with('/') {
        INDEX
    } else {
        rel
    };
    if let Some(file) = Dist::get(rel) {
        let cache = if rel.starts_with(ASSETS) {
            LONG_CACHE
        } else {
            "no-cache"
        };
        return file_answer(rel, file.data, cache);
    }
    if is_asset(rel) {
        return not_found();
    }
    match Dist::get(INDEX) {
        Some(index) => file_answer(INDEX, index.data, "no-cache"),
        None => not_found(),
    }
}

/// A path that names a file (under `/assets/`, or with an extension in its last
/// segment) rather than a page of the app.
fn is_asset(rel: &str) -> bool {
    rel.starts_with(ASSETS)
        || rel
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

fn file_answer(rel: &str, data: std::borrow::Cow<'static, [u8]>, cache: &str) -> Answer {
    Answer {
        code: 200,
        bytes: Some(data),
        content_type: Some(content_type(rel)),
        ..Answer::default()
    }
    .with_header("Cache-Control", cache.into())
    .with_header("X-Content-Type-Options", "nosniff".into())
}

fn not_found() -> Answer {
    error(404, "not found", None).with_header("Cache-Control", "no-store".into())
}

/// The Content-Type of a file by its extension; anything unknown is plain bytes.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
        a.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/index-AbC1.JS"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("a.woff2"), "font/woff2");
        assert_eq!(content_type("README"), "application/octet-stream");
    }

    #[test]
    fn the_app_s_own_paths_answer_index_html_and_missing_files_404() {
        // Whether built or a placeholder, web/dist has an index.html (build.rs).
        for path in ["/", "/login", "/workspace", "/workspace/calls/"] {
            let a = serve(path);
            assert_eq!(a.code, 200, "{path}");
            assert_eq!(a.content_type, Some("text/html; charset=utf-8"), "{path}");
            assert_eq!(header(&a, "Cache-Control"), Some("no-cache"), "{path}");
            assert!(a.bytes.is_some(), "{path}");
        }
        for path in ["/assets/nothing-1234.js", "/missing.png", "/a/b.css"] {
            let a = serve(path);
            assert_eq!(a.code, 404, "{path}");
            assert_eq!(header(&a, "Cache-Control"), Some("no-store"), "{path}");
        }
    }

    #[test]
    fn nothing_outside_the_embed_is_served() {
        for path in [
            "/../Cargo.toml",
            "/assets/../../Cargo.toml",
            "/..",
            "/./index.html",
            "/%2e%2e/Cargo.toml",
            "/..\\Cargo.toml",
            "/assets/..%2F..%2FCargo.toml",
            "/index.html\0",
            "/.built",
            "/.vite/manifest.json",
        ] {
            assert_eq!(serve(path).code, 404, "{path}");
        }
        assert!(Dist::get("../Cargo.toml").is_none());
        assert!(Dist::get("../../build.rs").is_none());
    }
}

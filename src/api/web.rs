//! The web panel's files (the Vue app built from `web/`), served from the binary.
//!
//! Owns nothing but the mapping from a URL path to an embedded file; the app talks
//! to the rest of the daemon only through `/api/v1`. Until the app is built and
//! embedded, every path is a 404.

use super::routes::{Answer, error};

/// The file for `path`, or the app's `index.html` for its own routes.
pub fn serve(path: &str) -> Answer {
    let _ = path;
    error(404, "not found", None).with_header("Cache-Control", "no-store".into())
}

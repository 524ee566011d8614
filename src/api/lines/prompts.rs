//! `/api/v1/prompts`: the prompts (语音文件) callers hear, per language: the built-in
//! ones under the sounds directory and the admin's uploads that replace them (or add
//! new names a flow can play).
//!
//! `GET /prompts` lists each name's current file and length; `GET
//! /prompts/{language}/{name}` is the audio itself, with its content type, for an
//! `<audio>` element; `PUT` takes a file's bytes as the body (WAV, MP3, OGG or FLAC),
//! decodes it the way the media room will (`media::check_prompt`) and only then keeps
//! it, under `<data dir>/prompts/<language>/` with a new name per upload as the
//! command line does (the media room caches decoded prompts by path); `DELETE` goes
//! back to the built-in one. The prompt rows are written by the store's
//! `set_prompt_file`/`clear_prompt_file`; the directory reload makes calls hear them.
//!
//! The sounds directory is where the daemon looks by default (the package's, else the
//! source tree's: `Config::sounds_dir`); a `sounds_dir` set in the configuration file
//! is not known here, since the API is not given the configuration.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::body::bad;
use super::{not_found, with_store};
use crate::api::routes::Answer;
use crate::api::table::Ctx;
use crate::core::Language;
use crate::store::UploadedPrompt;

/// The words of each built-in prompt: name, zh-CN, en (the script that made them).
const TEXTS: &str = include_str!("../../../sounds/prompts.tsv");

/// The name that replaces music on hold (`core::prompts::Voice::music`).
const MUSIC: &str = "moh";

/// The longest prompt name (the store's limit).
const MAX_NAME: usize = 64;

/// One prompt as the list shows it.
struct Entry {
    language: Language,
    name: String,
    builtin: Option<PathBuf>,
    uploaded: Option<UploadedPrompt>,
}

impl Entry {
    fn file(&self) -> Option<&Path> {
        self.uploaded
            .as_ref()
            .map(|u| u.file.as_path())
            .or(self.builtin.as_deref())
    }

    fn json(&self) -> Value {
        let seconds = match &self.uploaded {
            Some(u) => Some(u.seconds),
            None => self.builtin.as_deref().and_then(wav_seconds),
        };
        json!({
            "language": self.language.as_str(),
            "name": self.name,
            "text": text_of(self.language, &self.name),
            "builtin": self.builtin.is_some(),
            "uploaded": self.uploaded.is_some(),
            "file": self.file().and_then(|p| p.file_name()).map(|f| f.to_string_lossy()),
            "seconds": seconds.map(|s| (s * 100.0).round() / 100.0),
            "uploaded_at": self.uploaded.as_ref().map(|u| u.uploaded_at.to_rfc3339()),
        })
    }
}

pub fn list(ctx: &Ctx<'_>) -> Answer {
    let mut only = None;
    for (k, v) in ctx.query_pairs() {
        match k.as_str() {
            "language" => match Language::parse(&v) {
                Some(l) => only = Some(l),
                None => return bad("language", format!("expected zh-CN or en, got {v:?}")),
            },
            _ => return bad(&k, format!("unknown query parameter {k:?}")),
        }
    }
    let uploads = match with_store(ctx, |s| s.uploaded_prompts()) {
        Ok(u) => u,
        Err(a) => return a,
    };
    let sounds = sounds_dir(ctx);
    let mut out = Vec::new();
    for language in [Language::ZhCn, Language::En] {
        if only.is_some_and(|o| o != language) {
            continue;
        }
        let mut names = builtin_names(&sounds, language);
        names.extend(
            uploads
                .iter()
                .filter(|u| u.language == language)
                .map(|u| u.name.clone()),
        );
        names.sort();
        names.dedup();
        for name in names {
            out.push(entry(&sounds, &uploads, language, &name).json());
        }
    }
    Answer::json(200, &out)
}

pub fn audio(ctx: &Ctx<'_>) -> Answer {
    let (language, name) = match language_and_name(ctx) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let uploads = match with_store(ctx, |s| s.uploaded_prompts()) {
        Ok(u) => u,
        Err(a) => return a,
    };
    let e = entry(&sounds_dir(ctx), &uploads, language, &name);
    let Some(file) = e.file() else {
        return unknown(language, &name);
    };
    match std::fs::metadata(file) {
        Ok(_) => Answer {
            code: 200,
            deliver: Some(Box::new(crate::api::routes::Deliver::File(
                file.to_path_buf(),
            ))),
            content_type: Some(content_type(file)),
            ..Answer::default()
        }
        .with_header("Cache-Control", "no-cache".into()),
        Err(err) => {
            log::error!("api: prompt {}: {err}", file.display());
            crate::api::routes::error(500, "the prompt's file cannot be read", None)
        }
    }
}

pub fn upload(ctx: &Ctx<'_>) -> Answer {
    let (language, name) = match language_and_name(ctx) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let bytes = ctx.raw();
    if bytes.is_empty() {
        return bad("body", "send the audio file's bytes as the body");
    }
    let Some(ext) = sniff(bytes) else {
        return bad(
            "body",
            "the body is not a WAV, MP3, OGG or FLAC file (by its first bytes)",
        );
    };
    let (data_dir, before) = match with_store(ctx, |s| {
        let before = s
            .uploaded_prompts()?
            .into_iter()
            .find(|u| u.language == language && u.name == name);
        Ok((s.data_dir().to_path_buf(), before))
    }) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let dir = data_dir.join("prompts").join(language.as_str());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        log::error!("api: cannot create {}: {e}", dir.display());
        return crate::api::routes::error(500, "the prompts directory cannot be created", None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S%9f");
    let dest = dir.join(format!("{name}-{stamp}.{ext}"));
    if let Err(e) = std::fs::write(&dest, bytes) {
        log::error!("api: cannot write {}: {e}", dest.display());
        return crate::api::routes::error(500, "the upload cannot be written", None);
    }
    // Decoded as the media room will, before anything refers to it.
    let seconds = match crate::media::check_prompt(&dest) {
        Ok(s) => s,
        Err(e) => {
            remove(&dest);
            let reason = e.to_string();
            let reason = reason.rsplit(": ").next().unwrap_or(&reason);
            return bad("body", format!("the file cannot be played: {reason}"));
        }
    };
    if let Err(a) = with_store(ctx, |s| s.set_prompt_file(language, &name, &dest, seconds)) {
        remove(&dest);
        return a;
    }
    if let Some(old) = before.filter(|b| b.file != dest) {
        remove(&old.file);
    }
    let uploads = with_store(ctx, |s| s.uploaded_prompts()).unwrap_or_default();
    Answer::json(
        200,
        &entry(&sounds_dir(ctx), &uploads, language, &name).json(),
    )
}

pub fn reset(ctx: &Ctx<'_>) -> Answer {
    let (language, name) = match language_and_name(ctx) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let removed = with_store(ctx, |s| {
        let before = s
            .uploaded_prompts()?
            .into_iter()
            .find(|u| u.language == language && u.name == name);
        if before.is_some() {
            s.clear_prompt_file(language, &name)?;
        }
        Ok(before)
    });
    match removed {
        Ok(Some(old)) => {
            remove(&old.file);
            let e = entry(&sounds_dir(ctx), &[], language, &name);
            Answer::json(200, &e.json())
        }
        Ok(None) => not_found(&format!(
            "prompt {name} ({}) has no upload to remove",
            language.as_str()
        )),
        Err(a) => a,
    }
}

fn unknown(language: Language, name: &str) -> Answer {
    not_found(&format!(
        "no prompt {name} in {} (built in or uploaded)",
        language.as_str()
    ))
}

/// `{language}` and `{name}` of the path, checked (400 naming the one at fault).
fn language_and_name(ctx: &Ctx<'_>) -> Result<(Language, String), Answer> {
    let word = ctx.param_text("language");
    let language = Language::parse(&word)
        .ok_or_else(|| bad("language", format!("expected zh-CN or en, got {word:?}")))?;
    let name = ctx.param_text("name");
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(bad(
            "name",
            format!("expected a prompt name of 1-{MAX_NAME} of a-z, 0-9 and _, got {name:?}"),
        ));
    }
    Ok((language, name))
}

/// The sounds directory the daemon reads when the configuration names none.
fn sounds_dir(ctx: &Ctx<'_>) -> PathBuf {
    ctx.rooms.sounds.to_path_buf()
}

/// The built-in prompt file of `name`: `<language>/<name>.wav`, or music on hold's
/// `moh/default.wav` (the paths `core/prompts.rs` builds, which it keeps private).
fn builtin_file(sounds: &Path, language: Language, name: &str) -> Option<PathBuf> {
    let path = if name == MUSIC {
        sounds.join("moh").join("default.wav")
    } else {
        sounds.join(language.as_str()).join(format!("{name}.wav"))
    };
    path.is_file().then_some(path)
}

/// The built-in names of `language`: its WAV files, and music on hold.
fn builtin_names(sounds: &Path, language: Language) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(sounds.join(language.as_str()))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".wav").map(str::to_string)
        })
        .collect();
    if builtin_file(sounds, language, MUSIC).is_some() {
        names.push(MUSIC.into());
    }
    names
}

fn entry(sounds: &Path, uploads: &[UploadedPrompt], language: Language, name: &str) -> Entry {
    Entry {
        language,
        name: name.to_string(),
        builtin: builtin_file(sounds, language, name),
        uploaded: uploads
            .iter()
            .find(|u| u.language == language && u.name == name)
            .cloned(),
    }
}

/// What a built-in prompt says, from `sounds/prompts.tsv`.
fn text_of(language: Language, name: &str) -> Option<&'static str> {
    let column = match language {
        Language::ZhCn => 1,
        Language::En => 2,
    };
    TEXTS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
        .and_then(|cols| cols.get(column).copied())
}

/// A WAV file's length from its header.
fn wav_seconds(path: &Path) -> Option<f64> {
    let reader = hound::WavReader::open(path).ok()?;
    let rate = reader.spec().sample_rate;
    (rate > 0).then(|| f64::from(reader.duration()) / f64::from(rate))
}

/// The file type by its first bytes: the extension the upload is kept under.
fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WAVE" {
        Some("wav")
    } else if b.starts_with(b"OggS") {
        Some("ogg")
    } else if b.starts_with(b"fLaC") {
        Some("flac")
    } else if b.starts_with(b"ID3") || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0) {
        Some("mp3")
    } else {
        None
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        Some("flac") => "audio/flac",
        _ => "audio/wav",
    }
}

/// Removes a file of ours; one already gone is no matter.
fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        log::warn!("api: cannot remove {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_their_first_bytes() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Some("wav"));
        assert_eq!(sniff(b"ID3\x04"), Some("mp3"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90]), Some("mp3"));
        assert_eq!(sniff(b"OggS\0"), Some("ogg"));
        assert_eq!(sniff(b"fLaC\0"), Some("flac"));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(content_type(Path::new("a-1.mp3")), "audio/mpeg");
    }

    #[test]
    fn built_in_prompts_have_their_words_and_lengths() {
        assert_eq!(
            text_of(Language::ZhCn, "closed").map(|t| t.contains("非工作时间")),
            Some(true)
        );
        assert_eq!(text_of(Language::En, "goodbye"), Some("Goodbye."));
        assert_eq!(text_of(Language::En, "nothing"), None);
        let sounds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sounds");
        let names = builtin_names(&sounds, Language::ZhCn);
        assert!(names.iter().any(|n| n == "welcome_menu") && names.iter().any(|n| n == MUSIC));
        let file = builtin_file(&sounds, Language::ZhCn, "welcome_menu").unwrap();
        assert!(wav_seconds(&file).is_some_and(|s| s > 1.0));
    }
}

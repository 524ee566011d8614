//! Prompts and customers from the command line: replace a prompt with a recording of
//! the office's own (WAV, MP3, OGG or FLAC, checked by decoding it as the box will),
//! go back to the built-in one, and mark VIP customers.

use std::path::{Path, PathBuf};

use super::CliError;
use super::args::{ArgError, Args};
use crate::config::Config;
use crate::core::Language;
use crate::store::Store;

fn language(args: &Args) -> Result<Language, ArgError> {
    match args.one("language") {
        Some(l) => Language::parse(l)
            .ok_or_else(|| ArgError(format!("--language: expected zh-CN or en, got {l:?}"))),
        None => Ok(Language::ZhCn),
    }
}

/// `prompt set NAME FILE [--language L]`
pub fn set(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["language"], &[])?;
    let name = args.at(0, "the prompt's name (e.g. welcome_menu)")?;
    let source = Path::new(args.at(1, "the recording")?);
    let lang = language(&args)?;
    let seconds = crate::media::check_prompt(source)
        .map_err(|e| ArgError(format!("the recording cannot be played: {e}")))?;
    let mut store = Store::open(&config.db_path())?;
    let ext = source
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("wav")
        .to_ascii_lowercase();
    // A new file name per upload: the media room caches decoded prompts by path.
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let dir: PathBuf = store.data_dir().join("prompts").join(lang.as_str());
    std::fs::create_dir_all(&dir)
        .map_err(|e| ArgError(format!("cannot create {}: {e}", dir.display())))?;
    let dest = dir.join(format!("{name}-{stamp}.{ext}"));
    std::fs::copy(source, &dest)
        .map_err(|e| ArgError(format!("cannot copy to {}: {e}", dest.display())))?;
    store.set_prompt_file(lang, name, &dest, seconds)?;
    println!(
        "prompt {name} ({}) now plays {} ({seconds:.1} s)",
        lang.as_str(),
        dest.display()
    );
    Ok(())
}

/// `prompt reset NAME [--language L]`
pub fn reset(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["language"], &[])?;
    let name = args.at(0, "the prompt's name")?;
    let lang = language(&args)?;
    Store::open(&config.db_path())?.clear_prompt_file(lang, name)?;
    println!(
        "prompt {name} ({}) is the built-in one again",
        lang.as_str()
    );
    Ok(())
}

/// `customer vip NUMBER [--off]`
pub fn vip(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &["off"])?;
    let number = args.at(0, "the customer's number")?;
    let on = !args.switch("off");
    Store::open(&config.db_path())?.set_customer_vip(number, on)?;
    let words = if on {
        "a VIP: first in every queue"
    } else {
        "no longer a VIP"
    };
    println!("{number} is {words}");
    Ok(())
}

/// `number language SERVICE_NUMBER zh-CN|en`
pub fn number_language(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let number = args.at(0, "the service number")?;
    let word = args.at(1, "the language (zh-CN or en)")?;
    let lang = Language::parse(word)
        .ok_or_else(|| ArgError(format!("expected zh-CN or en, got {word:?}")))?;
    Store::open(&config.db_path())?.set_service_number_language(number, lang)?;
    println!("callers of {number} hear {word} prompts");
    Ok(())
}

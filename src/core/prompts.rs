//! The prompts the switchboard plays, by name, and numbers spoken as prompt sequences.
//!
//! Prompt files live under the sounds directory as `<language>/<name>.wav` (generated
//! by `sounds/generate.sh`); music on hold is `moh/default.wav`. The switchboard
//! only builds paths; the media room decodes and plays them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::directory::{Language, PromptFile};

/// Where each prompt's file is: an admin's upload if there is one, else the built-in
/// file under the sounds directory.
#[derive(Debug, Clone, Default)]
pub struct Voice {
    sounds: PathBuf,
    replaced: HashMap<(Language, String), PathBuf>,
}

impl Voice {
    pub fn new(sounds: PathBuf, uploads: &[PromptFile]) -> Voice {
        let replaced = uploads
            .iter()
            .map(|p| ((p.language, p.name.clone()), p.file.clone()))
            .collect();
        Voice { sounds, replaced }
    }

    pub fn prompt(&self, language: Language, name: &str) -> PathBuf {
        match self.replaced.get(&(language, name.to_string())) {
            Some(file) => file.clone(),
            None => prompt(&self.sounds, language, name),
        }
    }

    /// A tone (ringback, the agent's hold tone): `moh/<name>.wav`, the same in every
    /// language.
    pub fn tone(&self, name: &str) -> PathBuf {
        self.sounds.join("moh").join(format!("{name}.wav"))
    }

    /// Music on hold: an upload named `moh` for the language, else the built-in.
    pub fn music(&self, language: Language) -> PathBuf {
        match self.replaced.get(&(language, "moh".to_string())) {
            Some(file) => file.clone(),
            None => music_on_hold(&self.sounds),
        }
    }
}

/// The file of prompt `name` in `language`.
pub fn prompt(sounds: &Path, language: Language, name: &str) -> PathBuf {
    sounds.join(language.as_str()).join(format!("{name}.wav"))
}

/// Music on hold.
pub fn music_on_hold(sounds: &Path) -> PathBuf {
    sounds.join("moh").join("default.wav")
}

/// The prompt names that say `n` (0-99; larger numbers are said as 99), from the
/// files `num_0`…`num_20` and `num_30`…`num_90`: "35" is `num_30`, `num_5` in both
/// languages (三十 五, thirty five).
pub fn number(n: u32) -> Vec<String> {
    let n = n.min(99);
    if n <= 20 || n.is_multiple_of(10) {
        vec![format!("num_{n}")]
    } else {
        vec![format!("num_{}", n / 10 * 10), format!("num_{}", n % 10)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_paths_name_language_and_prompt() {
        let p = prompt(Path::new("/s"), Language::En, "goodbye");
        assert_eq!(p, Path::new("/s/en/goodbye.wav"));
        assert_eq!(
            music_on_hold(Path::new("/s")),
            Path::new("/s/moh/default.wav")
        );
    }

    #[test]
    fn numbers_are_built_from_the_recorded_words() {
        assert_eq!(number(0), ["num_0"]);
        assert_eq!(number(17), ["num_17"]);
        assert_eq!(number(40), ["num_40"]);
        assert_eq!(number(35), ["num_30", "num_5"]);
        assert_eq!(number(250), ["num_90", "num_9"]);
    }
}

//! The `callbox` command: `serve`, `check-config`, `version`, and the admin commands
//! of `callbox::cli`. Everything else lives in the library; this file only reads the
//! command line and maps errors to exit codes (2 for a bad configuration or command
//! line, 1 for anything else).

use std::path::PathBuf;
use std::process::ExitCode;

use callbox::config::Config;

const USAGE_HEAD: &str = "\
usage: callbox <command> [--config PATH]

commands:
  serve          run the call center (SIP, RTP, web)
  check-config   read the configuration, report the first problem, exit 2 if any
  version        print the version";

const USAGE_TAIL: &str = "\
Without --config, /etc/callbox/callbox.toml is read when it exists; otherwise the
built-in defaults apply (data under ./var).";

fn usage() -> String {
    format!("{USAGE_HEAD}\n{}\n\n{USAGE_TAIL}", callbox::cli::USAGE)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut command = None;
    let mut config_path = None;
    let mut operands = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--config" | "-c" => match rest.next() {
                Some(path) => config_path = Some(PathBuf::from(path)),
                None => return usage_error("--config needs a path"),
            },
            "-h" | "--help" | "help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            other if command.is_none() && !other.starts_with('-') => {
                command = Some(other.to_string())
            }
            // The admin commands take operands and options of their own.
            other if command.as_deref().is_some_and(callbox::cli::handles) => {
                operands.push(other.to_string())
            }
            other => return usage_error(&format!("unexpected argument {other:?}")),
        }
    }
    if let Some(cmd) = command.as_deref().filter(|c| callbox::cli::handles(c)) {
        let (config, _) = match load_config(config_path) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
        return match callbox::cli::run(cmd, &operands, &config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(callbox::cli::CliError::Usage(e)) => usage_error(&e.to_string()),
            Err(e) => {
                eprintln!("callbox: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match command.as_deref() {
        Some("version") => {
            println!("callbox {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("check-config") => match load_config(config_path) {
            Ok((config, origin)) => {
                println!("{origin}: ok (data in {})", config.data_dir.display());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Some("serve") => {
            let (config, origin) = match load_config(config_path) {
                Ok(loaded) => loaded,
                Err(code) => return code,
            };
            callbox::daemon::logger::init(config.log_level.filter());
            log::info!("configuration from {origin}");
            match callbox::daemon::serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("callbox: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(other) => usage_error(&format!("unknown command {other:?}")),
        None => usage_error("a command is needed"),
    }
}

/// The configuration and where it came from, or the exit code for a bad one.
fn load_config(path: Option<PathBuf>) -> Result<(Config, String), ExitCode> {
    let path = path.or_else(|| {
        let installed = PathBuf::from(callbox::config::DEFAULT_PATH);
        installed.exists().then_some(installed)
    });
    match path {
        None => Ok((Config::default(), "built-in defaults".to_string())),
        Some(path) => match Config::load(&path) {
            Ok(config) => Ok((config, path.display().to_string())),
            Err(e) => {
                eprintln!("{e}");
                Err(ExitCode::from(2))
            }
        },
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("callbox: {message}\n\n{}", usage());
    ExitCode::from(2)
}

//! Wiring: opens the store, starts the rooms on their threads, and runs the
//! switchboard's loop until a signal asks it to stop.
//!
//! Start-up order matters: the store first (the directory comes from it), then
//! media, then SIP (which may hand us calls at once), then HTTP. Shutdown is the
//! reverse, so no room is left sending to one that has gone.

mod board_loop;
pub mod logger;
mod watch;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::bounded;

use crate::api;
use crate::config::Config;
use crate::core::{Switchboard, SwitchboardConfig};
use crate::media::{self, MediaConfig};
use crate::sip::{self, SipConfig};
use crate::store::{self, Store};

/// Room event queues. A full SIP queue makes the SIP room refuse new calls with 503
/// rather than block Sofia; media events are few (opens, digits, timeouts).
const SIP_QUEUE: usize = 4096;
const MEDIA_QUEUE: usize = 4096;
/// Commands from the API wait here; each HTTP request waits for its answer.
const COMMAND_QUEUE: usize = 64;

/// How long an unanswered callee rings before the caller is told 480.
const RING_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the daemon could not start or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Sip(#[from] sip::SipError),
    #[error(transparent)]
    Media(#[from] media::MediaError),
    #[error(transparent)]
    Api(#[from] api::ApiError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}

/// Run callbox until SIGTERM or SIGINT.
pub fn serve(config: Config) -> Result<(), DaemonError> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| DaemonError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let db_path = data_dir.join("callbox.db");
    let mut store = Store::open(&db_path)?;
    // The demo logins are printed at first start, and again whenever a person is
    // watching the terminal (`make run`), never into a service's log after that.
    let demo = match store.seed_demo_if_empty()? {
        Some(seed) => Some(seed),
        None if std::io::stdout().is_terminal() => store.demo_seed()?,
        None => None,
    };
    let directory = store.load_directory(&config.sip.outbound_prefix)?;
    let interrupted = store.close_interrupted_calls(chrono::Utc::now())?;
    if interrupted > 0 {
        log::warn!("closed {interrupted} call(s) cut by the previous stop as interrupted");
    }
    let first_call_id = store.next_call_id()?;
    let snapshots = store.agent_snapshots()?;
    drop(store);
    let writer = store::spawn_writer(&db_path)?;

    let (media_tx, media_rx) = bounded(MEDIA_QUEUE);
    let media = media::spawn(
        MediaConfig {
            bind: config.rtp.bind,
            advertise: config.rtp.advertise_ip(),
            port_min: config.rtp.port_min,
            port_max: config.rtp.port_max,
            rtp_timeout: config.rtp.timeout,
        },
        media_tx,
    )?;
    let (sip_tx, sip_rx) = bounded(SIP_QUEUE);
    let sip = sip::spawn(
        SipConfig {
            listen: config.sip.listen,
            realm: config.sip.realm.clone(),
            user_agent: config.sip.user_agent.clone(),
            min_expires: seconds(config.sip.min_expires),
            max_expires: seconds(config.sip.max_expires),
            nonce_lifetime: config.sip.nonce_lifetime,
            qualify_interval: config.sip.qualify_interval,
            session_expires: config.sip.session_expires.map_or(0, seconds),
        },
        directory.clone(),
        sip_tx,
    )?;
    let status = Arc::new(api::Status::new());
    let (command_tx, command_rx) = bounded(COMMAND_QUEUE);
    let http = api::spawn(
        config.http.listen,
        status.clone(),
        command_tx,
        db_path.clone(),
    )?;

    let sip_addr = sip.local_addr();
    log::info!(
        "SIP on {sip_addr} (UDP and TCP), HTTP on {}, data in {}",
        http.local_addr(),
        data_dir.display()
    );
    println!("callbox {} is running.", env!("CARGO_PKG_VERSION"));
    println!("  SIP   {sip_addr} (UDP and TCP)");
    println!("  web   http://{}/health", http.local_addr());
    println!("  data  {}", data_dir.display());
    if let Some(demo) = demo {
        print_demo(&demo, &config, sip_addr.port());
    }

    let (reload_tx, reload_rx) = bounded(4);
    let (watch_stop_tx, watch_stop_rx) = bounded::<()>(1);
    let watcher = watch::spawn(
        &db_path,
        config.sip.outbound_prefix.clone(),
        reload_tx,
        watch_stop_rx,
    )?;

    let (stop_tx, stop_rx) = bounded(1);
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(DaemonError::Signals)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                log::info!("signal {signal}: stopping");
                let _ = stop_tx.send(());
            }
        })
        .map_err(DaemonError::Signals)?;

    let mut board = Switchboard::new(
        SwitchboardConfig {
            record: config.recording.enabled,
            data_dir: data_dir.clone(),
            first_call_id,
            ring_timeout: RING_TIMEOUT,
            rtp_timeout: config.rtp.timeout,
            sounds_dir: config.sounds_dir(),
            seed: rand::random(),
            // China keeps no summer time, so the offset at start holds.
            utc_offset: *chrono::Local::now().offset(),
            survey_scale: config.survey.scale,
        },
        directory,
    );
    board.restore_agents(board_loop::real_now(), &snapshots);
    board_loop::run(
        &mut board,
        board_loop::Wiring {
            sip_events: sip_rx,
            media_events: media_rx,
            commands: command_rx,
            reloads: reload_rx,
            stop: stop_rx,
            sip: &sip,
            media: &media,
            store: &writer,
            status,
        },
    );

    drop(watch_stop_tx);
    if watcher.join().is_err() {
        log::error!("the directory watcher panicked");
    }
    sip.shutdown();
    media.shutdown();
    http.shutdown();
    writer.shutdown();
    log::info!("stopped");
    Ok(())
}

fn seconds(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

fn print_demo(demo: &store::DemoSeed, config: &Config, sip_port: u16) {
    let host = config.rtp.advertise_ip();
    println!();
    println!(
        "A demo call center was set up. Register a softphone (e.g. Linphone, MicroSIP, baresip):"
    );
    println!("  server   {host}:{sip_port} (UDP or TCP)");
    for (user, password) in &demo.devices {
        println!("  user {user:<6} password {password}");
    }
    if let Some((first, _)) = demo.devices.first() {
        let other = demo.devices.get(1).map_or("1002", |(u, _)| u.as_str());
        println!(
            "Then call {other} from {first}. Dial {}<number> to call out through the trunk.",
            config.sip.outbound_prefix
        );
    }
    println!();
    println!(
        "Service number {} answers with the menu {}: 1 for {}, 2 for {}. Agents, each on a demo phone:",
        demo.service_number,
        store::DEMO_FLOW_NAME,
        store::DEMO_GROUP_NAME,
        store::DEMO_AFTER_SALES_GROUP_NAME,
    );
    for ((number, name, web, sip), (phone, _)) in demo.agents.iter().zip(&demo.devices) {
        println!(
            "  agent {number} {name}: desk phone {phone}, web password {web}, softphone login {number} / {sip}"
        );
    }
    if let (Some((agent, ..)), Some((caller, _))) = (demo.agents.first(), demo.devices.get(1)) {
        println!(
            "Log an agent in with `callbox agent login {agent}`, then call {} from {caller} and press 1: you wait with music until {agent} answers. `callbox why agent {agent}` says why an agent does or does not get calls; 0000 from a phone opens its menu (bind, sign in, sign out).",
            demo.service_number
        );
    }
    println!("(Logins are shown at first start and whenever callbox runs in a terminal.)");
}

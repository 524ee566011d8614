//! Wiring: opens the store, starts the rooms on their threads, and runs the
//! switchboard's loop until a signal asks it to stop; and the daemon's life under
//! systemd.
//!
//! Start-up order matters: the store first (the directory comes from it; recordings
//! cut by a crash are repaired and the calls they belong to closed as interrupted),
//! then media, then SIP (which may hand us calls at once), then HTTP. `READY=1` goes
//! to systemd after the switchboard's first turn (`notify.rs`), and a watchdog thread
//! pings systemd only while every loop's heartbeat moves (`crate::heartbeat`).
//!
//! Shutdown: the first SIGTERM or SIGINT stops new calls (503) and lets calls in
//! progress go on for up to `shutdown.drain_secs`; a second signal, or the end of the
//! drain, ends them (rows closed, BYEs sent). Then the rooms stop in reverse order,
//! so no room is left sending to one that has gone, and the recordings the media
//! room finalised on its way out are written to the store last.
//!
//! Files: `board_loop` (the switchboard's driver), `watch` (directory reloads),
//! `logger` and `journal` (stderr lines, or journal entries with fields), `notify`
//! and `heartbeat` (systemd), `retention` (old recordings and the disk floor).

mod board_loop;

mod journal;
pub mod logger;
mod notify;
mod retention;
mod watch;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    repair_recordings(&mut store)?;
    let interrupted = store.close_interrupted_calls(chrono::Utc::now())?;
    if interrupted > 0 {
        log::warn!("closed {interrupted} call(s) cut by the previous stop as interrupted");
    }
    let first_call_id = store.next_call_id()?;
    let snapshots = store.agent_snapshots()?;
    let first_admin = store.create_first_admin()?;
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
        config.sounds_dir(),
    )?;

    let sip_addr = sip.local_addr();
    log::info!(
        "SIP on {sip_addr} (UDP and TCP), HTTP on {}, data in {}",
        http.local_addr(),
        data_dir.display()
    );
    println!("callbox {} is running.", env!("CARGO_PKG_VERSION"));
    println!("  SIP   {sip_addr} (UDP and TCP)");
    // A wildcard listener is reached at the LAN address SDP advertises.
    let web = http.local_addr();
    let web_host = if web.ip().is_unspecified() {
        config.rtp.advertise_ip()
    } else {
        web.ip()
    };
    println!(
        "  web   http://{}/ (the panel; /health for monitoring)",
        std::net::SocketAddr::new(web_host, web.port())
    );
    println!("  data  {}", data_dir.display());
    if let Some(demo) = demo {
        print_demo(&demo, &config, sip_addr.port());
    }
    if let Some(password) = first_admin {
        println!(
            "\nWeb admin: user admin, password {password} (shown only now; `callbox admin passwd` sets a new one)"
        );
    }

    let (reload_tx, reload_rx) = bounded(4);
    let (watch_stop_tx, watch_stop_rx) = bounded::<()>(1);
    let retention = retention::spawn(&config, &db_path, status.clone())?;
    let watcher = watch::spawn(
        &db_path,
        config.sip.outbound_prefix.clone(),
        reload_tx,
        watch_stop_rx,
    )?;

    let (stop_tx, stop_rx) = bounded(4);
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(DaemonError::Signals)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            // The first signal starts the drain, the second ends it.
            for (n, signal) in signals.forever().enumerate() {
                let again = if n == 0 { "" } else { " again" };
                log::info!("signal {signal}{again}: stopping");
                // A full queue already holds a stop; a closed one has nobody to stop.
                if let Err(crossbeam_channel::TrySendError::Disconnected(_)) = stop_tx.try_send(())
                {
                    return;
                }
            }
        })
        .map_err(DaemonError::Signals)?;

    let notifier = Arc::new(notify::Notifier::from_env());
    let draining = Arc::new(AtomicBool::new(false));
    let (watchdog_stop_tx, watchdog_stop_rx) = bounded::<()>(1);
    let watchdog = notify::Watchdog::spawn(
        notifier.clone(),
        status.clone(),
        draining.clone(),
        watchdog_stop_rx,
    )
    .map_err(|e| DaemonError::Thread("watchdog", e))?;

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
    let on_ready = {
        let (notifier, status) = (notifier.clone(), status.clone());
        move || {
            crate::heartbeat::arm_test_stall();
            let text = notify::status_text(
                status.calls_active.load(Ordering::Relaxed),
                status.agents_logged_in.load(Ordering::Relaxed),
                false,
            );
            notifier.send(&[notify::State::Ready, notify::State::Status(&text)]);
            log::info!("ready: SIP, media, store and HTTP are up");
        }
    };
    let on_stop = {
        let (notifier, status, draining, sip) =
            (notifier.clone(), status.clone(), draining.clone(), &sip);
        move |calls: usize| {
            sip.refuse_new_calls();
            draining.store(true, Ordering::Relaxed);
            let text =
                notify::status_text(calls, status.agents_logged_in.load(Ordering::Relaxed), true);
            notifier.send(&[notify::State::Stopping, notify::State::Status(&text)]);
        }
    };
    board_loop::run(
        &mut board,
        board_loop::Wiring {
            sip_events: sip_rx,
            media_events: media_rx.clone(),
            commands: command_rx,
            reloads: reload_rx,
            stop: stop_rx,
            sip: &sip,
            media: &media,
            store: &writer,
            status,
            drain: config.shutdown.drain,
            on_ready: Some(Box::new(on_ready)),
            on_stop: Some(Box::new(on_stop)),
        },
    );
    notifier.send(&[notify::State::Stopping]);
    drop(watchdog_stop_tx);
    watchdog.join();

    retention.shutdown();
    drop(watch_stop_tx);
    if watcher.join().is_err() {
        log::error!("the directory watcher panicked");
    }
    sip.shutdown();
    media.shutdown();
    // The recordings the media room finalised on its way out, for their rows.
    for event in media_rx.try_iter() {
        if let crate::core::MediaEvent::RecordingDone { path, seconds } = event {
            writer.send_recording(path, seconds);
        }
    }
    http.shutdown();
    writer.shutdown();
    log::info!("stopped");
    Ok(())
}

/// Rewrites the WAV header of every recording whose call a previous run left open
/// (killed, crashed, power cut) to the audio really on disk, and stores its length, so
/// the file plays to its end. Runs before those calls are closed as interrupted.
fn repair_recordings(store: &mut Store) -> Result<(), DaemonError> {
    for (call, path) in store.open_recorded_calls()? {
        match media::repair::repair_wav(&path) {
            Ok(r) => {
                if r.changed() {
                    log::warn!(
                        "{call}: recording {} repaired after an interrupted stop: {:.1} s (its header said {:.1} s)",
                        path.display(),
                        r.seconds,
                        r.header_seconds
                    );
                }
                store.record_recording(&path, r.seconds)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::warn!("{call}: recording {} is missing", path.display())
            }
            Err(e) => log::warn!(
                "{call}: recording {} cannot be repaired: {e}",
                path.display()
            ),
        }
    }
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

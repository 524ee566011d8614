//! The event hub: the open streams, the thread that polls the switchboard and sends
//! each stream what changed, and one small thread per stream that writes to its
//! socket.
//!
//! An API worker that gets `GET /api/v1/events` only registers the stream and hands
//! the connection to a new stream thread ([`Hub::hand_over`]); it is free again at
//! once. The hub thread asks the switchboard for a `Command::Live` snapshot every
//! [`TICK`] while any stream is open (with `try_send`: a full command queue skips a
//! tick, it never waits), diffs it against the last one (`snapshot.rs`), and puts
//! each stream's frames on that stream's bounded channel, again without waiting: a
//! stream whose reader has fallen [`BACKLOG`] ticks behind is closed, not waited
//! for. So no stream can slow the hub, the switchboard or another stream.
//!
//! Every second the hub checks each stream's session without touching it
//! (`Auth::session_open`): logout, expiry or a new password ends the stream with an
//! `end` event. Caps: [`PER_USER`] streams per user (a new one closes that user's
//! oldest: a reloaded tab must not lock its user out) and [`TOTAL`] in all (past it,
//! 429). A stream counts until its thread is gone, so the caps bound threads too.
//!
//! Known limit: tiny_http does not let us set a write timeout, so a client that keeps
//! its connection open but never reads blocks its own stream thread once the socket's
//! buffer is full (megabytes at our rate of a few hundred bytes a second); it still
//! holds only its slot under the caps, nothing else.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::super::agents::CommandRequest;
use super::super::auth::Auth;
use super::super::call_log::CallLog;
use super::snapshot::{self, Audience, Event, Snapshot};
use super::{sse, today};
use crate::core::{Command, LiveView, Reply};

/// How often the switchboard is asked while a stream is open.
pub const TICK: Duration = Duration::from_millis(200);
/// A keep-alive comment goes out after this long without an event.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Streams one user may have open; a new one closes their oldest.
pub const PER_USER: usize = 4;
/// Streams open in all; a new one past this gets 429.
pub const TOTAL: usize = 64;
/// Batches a stream may have unsent before it is closed as too slow.
const BACKLOG: usize = 64;
/// How often sessions are checked, and today's figures read again.
const SESSION_CHECK: Duration = Duration::from_secs(1);
const TODAY_EVERY: Duration = Duration::from_secs(2);
/// How long the hub waits for a snapshot.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(1);

/// What a stream thread is told.
#[derive(Debug)]
enum Out {
    /// Frames to write, as one chunk.
    Frames(String),
    /// Write an `end` event saying why (a code for the client: `displaced`,
    /// `session`, `stopping`; and words), end the body and stop.
    Close(&'static str, String),
}

/// Who opened a stream, as the route found them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ticket {
    /// The login name ("" for this machine without a session).
    pub user: String,
    pub agent: Option<String>,
    /// Supervisors and admins see everything.
    pub all: bool,
    /// The `Cookie` header that carried the session (`None`: this machine).
    pub cookie: Option<String>,
}

struct Entry {
    id: u64,
    user: String,
    audience: Audience,
    cookie: Option<String>,
    /// `None` once the stream is closing: it still counts until its thread ends.
    tx: Option<Sender<Out>>,
    /// It has not been sent the whole picture yet.
    fresh: bool,
}

/// The open streams and the caps on them.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
    next: u64,
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

impl Registry {
    /// Registers a stream for `ticket` writing to `tx`: its id, and the channel of
    /// the stream it displaced (the user's oldest, past [`PER_USER`]), which the
    /// caller closes. Past [`TOTAL`] open streams: [`Full`].
    fn admit(
        &mut self,
        ticket: &Ticket,
        tx: Sender<Out>,
    ) -> Result<(u64, Option<Sender<Out>>), Full> {
        let open = |e: &&Entry| e.tx.is_some();
        let mine: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].tx.is_some() && self.entries[i].user == ticket.user)
            .collect();
        let displaced = if mine.len() >= PER_USER {
            // The oldest is the first registered.
            mine.first().and_then(|&i| self.entries[i].tx.take())
        } else {
            if self.entries.iter().filter(open).count() >= TOTAL
                || self.entries.len() >= TOTAL + BACKLOG
            {
                return Err(Full);
            }
            None
        };
        self.next += 1;
        self.entries.push(Entry {
            id: self.next,
            user: ticket.user.clone(),
            audience: Audience {
                agent: ticket.agent.clone(),
                all: ticket.all,
            },
            cookie: ticket.cookie.clone(),
            tx: Some(tx),
            fresh: true,
        });
        Ok((self.next, displaced))
    }

    fn remove(&mut self, id: u64) {
        self.entries.retain(|e| e.id != id);
    }

    /// Streams open (not closing).
    pub fn open(&self) -> usize {
        self.entries.iter().filter(|e| e.tx.is_some()).count()
    }
}

struct Shared {
    registry: Mutex<Registry>,
    /// A new stream: send it the whole picture soon.
    wake: (Sender<()>, Receiver<()>),
    stopping: AtomicBool,
    next_event: AtomicU64,
}

fn locked(m: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running hub. Stopping it (drop) ends every stream with an `end` event.
pub struct Hub {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Hub {
    /// A hub with no thread: every stream is refused with 503 (unit tests).
    pub fn idle() -> Hub {
        Hub {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry::default()),
                wake: bounded(1),
                stopping: AtomicBool::new(true),
                next_event: AtomicU64::new(0),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Starts the hub thread; it asks `commands` for snapshots, checks sessions in
    /// `auth` and reads today's figures from the database at `db`.
    pub fn spawn(
        commands: Sender<CommandRequest>,
        auth: Arc<Auth>,
        db: PathBuf,
    ) -> std::io::Result<Hub> {
        let hub = Hub::idle();
        hub.shared.stopping.store(false, Ordering::SeqCst);
        let shared = hub.shared.clone();
        let thread = std::thread::Builder::new()
            .name("api-events".into())
            .spawn(move || run(&shared, &commands, &auth, CallLog::new(db)))?;
        *hub.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        Ok(hub)
    }

    /// Takes the connection of `request` for a stream for `ticket`, or answers it
    /// 429 (too many streams) or 503 (stopping). Returns at once either way.
    pub fn hand_over(&self, request: tiny_http::Request, ticket: Ticket) {
        if self.shared.stopping.load(Ordering::SeqCst) {
            return refuse(request, 503, "callbox is stopping", None);
        }
        let (tx, rx) = bounded(BACKLOG);
        let admitted = locked(&self.shared.registry).admit(&ticket, tx);
        let (id, displaced) = match admitted {
            Ok(found) => found,
            Err(Full) => {
                return refuse(
                    request,
                    429,
                    &format!("too many live event streams are open (at most {TOTAL})"),
                    Some("10"),
                );
            }
        };
        if let Some(old) = displaced {
            let _ = old.try_send(Out::Close(
                "displaced",
                format!("this user opened more than {PER_USER} streams; the oldest closes"),
            ));
        }
        let chunked = request.http_version() >= &tiny_http::HTTPVersion(1, 1);
        let writer = request.into_writer();
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("api-stream-{id}"))
            .spawn(move || {
                write_stream(writer, &rx, chunked);
                locked(&shared.registry).remove(id);
            });
        if let Err(e) = spawned {
            log::error!("api: cannot start a stream thread: {e}");
            locked(&self.shared.registry).remove(id);
            return;
        }
        log::debug!("api: event stream {id} opened for {:?}", ticket.user);
        let _ = self.shared.wake.0.try_send(());
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.shared.wake.0.try_send(());
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread
            && t.join().is_err()
        {
            log::error!("api: the event hub panicked");
        }
    }
}

fn refuse(request: tiny_http::Request, code: u16, message: &str, retry: Option<&str>) {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = tiny_http::Response::from_string(body).with_status_code(code);
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", "application/json") {
        response.add_header(h);
    }
    if let Some(secs) = retry
        && let Ok(h) = tiny_http::Header::from_bytes("Retry-After", secs)
    {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

/// A stream thread: the head, then what the hub sends, with keep-alives between,
/// until the hub closes it or the client goes.
fn write_stream(mut w: Box<dyn Write + Send>, rx: &Receiver<Out>, chunked: bool) {
    let send = |w: &mut Box<dyn Write + Send>, text: &str| -> bool {
        w.write_all(&sse::chunk(text, chunked)).is_ok() && w.flush().is_ok()
    };
    if w.write_all(sse::head(chunked).as_bytes()).is_err() || !send(&mut w, &sse::opening()) {
        return;
    }
    loop {
        match rx.recv_timeout(KEEP_ALIVE) {
            Ok(Out::Frames(text)) => {
                if !send(&mut w, &text) {
                    return;
                }
            }
            Ok(Out::Close(code, reason)) => {
                let data = serde_json::json!({ "code": code, "reason": reason }).to_string();
                send(&mut w, &sse::frame(0, "end", &data));
                break;
            }
            Err(RecvTimeoutError::Timeout) => {
                if !send(&mut w, sse::keep_alive()) {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if chunked {
        let _ = w.write_all(sse::LAST_CHUNK);
    }
    let _ = w.flush();
}

/// Asks the switchboard for a snapshot without ever waiting to be heard.
fn ask_live(commands: &Sender<CommandRequest>) -> Option<LiveView> {
    let (tx, rx) = bounded(1);
    match commands.try_send((Command::Live, tx)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => return None,
        Err(TrySendError::Disconnected(_)) => return None,
    }
    match rx.recv_timeout(SNAPSHOT_WAIT) {
        Ok(Ok(Reply::Live(view))) => Some(*view),
        _ => None,
    }
}

/// The hub thread.
fn run(shared: &Shared, commands: &Sender<CommandRequest>, auth: &Auth, db: CallLog) {
    let mut last: Option<Snapshot> = None;
    let mut last_today: Option<(Instant, serde_json::Value)> = None;
    let mut checked = Instant::now();
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let (open, fresh, all) = {
            let reg = locked(&shared.registry);
            let live = || reg.entries.iter().filter(|e| e.tx.is_some());
            (
                reg.open(),
                live().any(|e| e.fresh),
                live().any(|e| e.audience.all),
            )
        };
        if open == 0 {
            // Nothing to feed: forget the last picture (a new stream gets a fresh
            // one) and sleep until a stream opens.
            last = None;
            last_today = None;
            let _ = shared.wake.1.recv_timeout(Duration::from_millis(500));
            continue;
        }
        let started = Instant::now();
        if let Some(view) = ask_live(commands) {
            let next = Snapshot::of(&view);
            let mut events = match &last {
                Some(before) => snapshot::diff(before, &next),
                None => Vec::new(),
            };
            let mut today_now = None;
            let due = last_today
                .as_ref()
                .is_none_or(|(at, _)| started.duration_since(*at) >= TODAY_EVERY);
            if all && due {
                match today::figures(&db, &view) {
                    Some(data) => {
                        if last_today.as_ref().is_some_and(|(_, d)| *d != data) {
                            events.push(Event::Today { data: data.clone() });
                        }
                        last_today = Some((started, data.clone()));
                        today_now = Some(data);
                    }
                    None => last_today = None,
                }
            }
            let today_data = today_now.or_else(|| last_today.as_ref().map(|(_, d)| d.clone()));
            deliver(shared, &next, &events, fresh, today_data.as_ref());
            last = Some(next);
        }
        if started.duration_since(checked) >= SESSION_CHECK {
            checked = started;
            check_sessions(shared, auth, &db, started);
        }
        let wait = TICK.saturating_sub(started.elapsed());
        let _ = shared.wake.1.recv_timeout(wait);
    }
    let mut reg = locked(&shared.registry);
    for e in &mut reg.entries {
        if let Some(tx) = e.tx.take() {
            let _ = tx.try_send(Out::Close("stopping", "callbox is stopping".into()));
        }
    }
}

/// Puts each stream's frames on its channel: the whole picture for new ones, the
/// differences for the others. A stream too far behind is closed.
fn deliver(
    shared: &Shared,
    next: &Snapshot,
    events: &[Event],
    fresh: bool,
    today: Option<&serde_json::Value>,
) {
    if events.is_empty() && !fresh {
        return;
    }
    let mut reg = locked(&shared.registry);
    for e in &mut reg.entries {
        let Some(tx) = &e.tx else {
            continue;
        };
        let chosen: Vec<Event> = if e.fresh {
            let mut all = snapshot::initial(next, &e.audience);
            if e.audience.all
                && let Some(data) = today
            {
                all.push(Event::Today { data: data.clone() });
            }
            all
        } else {
            events
                .iter()
                .filter(|ev| e.audience.wants(ev))
                .cloned()
                .collect()
        };
        e.fresh = false;
        if chosen.is_empty() {
            continue;
        }
        let mut text = String::new();
        for ev in &chosen {
            let id = shared.next_event.fetch_add(1, Ordering::Relaxed) + 1;
            text.push_str(&sse::frame(id, ev.name(), &ev.data().to_string()));
        }
        match tx.try_send(Out::Frames(text)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                log::warn!("api: event stream {} fell behind; closing it", e.id);
                // Dropping the sender ends the stream once its thread drains.
                e.tx = None;
            }
            Err(TrySendError::Disconnected(_)) => e.tx = None,
        }
    }
}

/// Ends the streams whose session has ended.
fn check_sessions(shared: &Shared, auth: &Auth, db: &CallLog, now: Instant) {
    let cookies: Vec<(u64, String)> = locked(&shared.registry)
        .entries
        .iter()
        .filter(|e| e.tx.is_some())
        .filter_map(|e| e.cookie.clone().map(|c| (e.id, c)))
        .collect();
    let ended: Vec<u64> = cookies
        .into_iter()
        .filter(|(_, cookie)| !auth.session_open(cookie, db, now))
        .map(|(id, _)| id)
        .collect();
    if ended.is_empty() {
        return;
    }
    let mut reg = locked(&shared.registry);
    for e in reg.entries.iter_mut().filter(|e| ended.contains(&e.id)) {
        if let Some(tx) = e.tx.take() {
            let _ = tx.try_send(Out::Close(
                "session",
                "the session has ended: log in again".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(user: &str) -> Ticket {
        Ticket {
            user: user.into(),
            agent: Some(user.into()),
            all: false,
            cookie: None,
        }
    }

    #[test]
    fn a_user_past_their_cap_closes_their_oldest_stream() {
        let mut reg = Registry::default();
        let mut first = None;
        for i in 0..PER_USER {
            let (tx, rx) = bounded(1);
            let (id, displaced) = reg.admit(&ticket("8001"), tx).unwrap();
            assert!(displaced.is_none(), "stream {i}");
            if i == 0 {
                first = Some((id, rx));
            }
        }
        let (tx, _rx) = bounded(1);
        let (_, displaced) = reg.admit(&ticket("8001"), tx).unwrap();
        let old = displaced.expect("the oldest is displaced");
        old.try_send(Out::Close("displaced", "x".into())).unwrap();
        let (_, rx) = first.unwrap();
        assert!(matches!(rx.try_recv(), Ok(Out::Close("displaced", _))));
        assert_eq!(reg.open(), PER_USER);
        // Another user is not touched.
        let (tx, _rx2) = bounded(1);
        assert!(reg.admit(&ticket("8002"), tx).unwrap().1.is_none());
    }

    #[test]
    fn past_the_total_cap_a_stream_is_refused_until_one_ends() {
        let mut reg = Registry::default();
        let mut keep = Vec::new();
        for i in 0..TOTAL {
            let (tx, rx) = bounded(1);
            let (id, _) = reg.admit(&ticket(&format!("{}", 9000 + i)), tx).unwrap();
            keep.push((id, rx));
        }
        let (tx, _rx) = bounded(1);
        assert_eq!(reg.admit(&ticket("7000"), tx).unwrap_err(), Full);
        reg.remove(keep[0].0);
        let (tx, _rx) = bounded(1);
        assert!(reg.admit(&ticket("7000"), tx).is_ok());
    }

    #[test]
    fn a_stream_thread_writes_the_head_frames_and_the_end() {
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = bounded(4);
        tx.send(Out::Frames(sse::frame(1, "agent", "{}"))).unwrap();
        tx.send(Out::Close("session", "logged out".into())).unwrap();
        write_stream(Box::new(Sink(out.clone())), &rx, true);
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("event: agent\ndata: {}\n\n"), "{text}");
        assert!(
            text.contains("event: end\ndata: {\"code\":\"session\",\"reason\":\"logged out\"}"),
            "{text}"
        );
        assert!(text.ends_with("0\r\n\r\n"), "{text}");
    }
}

//! The Sofia thread: creates the agent, steps its root, and routes every NUA event
//! and every queued command to the code that handles it.
//!
//! It owns the per-thread state ([`Stack`]): the directory, the registrar table, the
//! legs and their handles, the nonce key. It must never block on anything but Sofia's
//! own poll and the (bounded) event channel for in-dialog events; a new call that
//! finds the channel full is refused with 503 instead. The tricky part is handle
//! ownership: a leg's handle is destroyed once, when Sofia says the dialog is over
//! (or right after a final non-2xx on the initial INVITE, where Sofia reports no
//! termination), and every map entry goes with it so no stale copy is used.
//!
//! It also sets what the agent allows: REFER is answered by us (`NUTAG_APPL_METHOD`)
//! and allowed only on our legs' handles, never agent-wide, because NUA sends a
//! NOTIFY for an out-of-dialog REFER before we could refuse it (see [`ALLOW`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::digest::NonceKey;
use super::ffi::{Agent, Event, EventFd, EventKind, Handle, MsgRef, Nua, Opt, Sink};
use super::refer_to::DialogIds;
use super::registrar::Registrar;
use super::sdp::Origin;
use super::{Cmd, SipConfig};
use crate::core::{DeviceId, Directory, LegId, MediaDesc, SipCommand, SipEvent, TrunkId};

/// How long shutdown waits for Sofia to end dialogs and registrations.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The longest the loop sleeps in Sofia's poll, so timers are checked this often.
const MAX_STEP: Duration = Duration::from_millis(500);
/// Methods the agent allows outside our legs: Sofia's default list, plus REGISTER,
/// minus REFER. Were REFER here, NUA would answer an out-of-dialog REFER with a
/// "100 Trying" NOTIFY to whatever Contact it names (retransmitted for 32 s, even
/// after we refuse the REFER) before telling us; without it, Sofia answers 405.
/// Every leg's handle allows REFER again ([`LEG_ALLOW`]).
const ALLOW: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, MESSAGE, SUBSCRIBE, NOTIFY, UPDATE, REGISTER";
/// Added to the Allow list of every leg's handle: transfers happen in our dialogs.
pub(super) const LEG_ALLOW: &str = "REFER";

/// One dialog we know by a leg id.
pub(super) struct Leg {
    pub nh: Handle,
    pub incoming: bool,
    /// A 2xx was sent (incoming) or received (outgoing).
    pub answered: bool,
    /// Nothing more is reported for this leg: we hung it up, rejected it, or already
    /// reported its end.
    pub silent: bool,
    /// The pending initial INVITE (incoming legs), for responses sent later.
    pub invite: Option<MsgRef>,
    /// A pending re-INVITE waiting for `AnswerReoffer`.
    pub reinvite: Option<MsgRef>,
    pub origin: Origin,
    /// Our last SDP, resent for an offerless re-INVITE.
    pub last_sdp: Option<String>,
    /// The trunk an outgoing leg goes to (for answering its digest challenge).
    pub trunk: Option<TrunkId>,
    pub auth_tried: bool,
    /// Call-ID and tags of the dialog, for finding the leg an attended transfer's
    /// `Replaces` names.
    pub dialog: DialogIds,
    /// The Event (`refer;id=N`) of a REFER we accepted on this leg and have not
    /// reported the final outcome of (`ReferOutcome`).
    pub refer: Option<String>,
}

/// Handles that are not legs.
pub(super) enum Aux {
    Qualify {
        device: DeviceId,
        uri: String,
        is_static: bool,
    },
    TrunkRegister {
        trunk: TrunkId,
        auth_tries: u8,
    },
}

/// What the thread talks through.
pub(super) struct Io {
    pub events: Sender<SipEvent>,
    pub commands: Receiver<Cmd>,
    pub wake: Arc<EventFd>,
    /// Set when new calls are to be refused (shutdown's drain).
    pub refusing: Arc<AtomicBool>,
}

pub(super) struct Stack {
    pub nua: Option<Nua>,
    pub cfg: SipConfig,
    pub dir: Directory,
    pub events: Sender<SipEvent>,
    commands: Receiver<Cmd>,
    pub key: NonceKey,
    pub registrar: Registrar,
    pub legs: HashMap<LegId, Leg>,
    pub aux: HashMap<Handle, Aux>,
    pub trunk_regs: HashMap<TrunkId, Handle>,
    next_incoming: u64,
    next_session_id: u64,
    pub next_qualify: Option<Instant>,
    shutdown_deadline: Option<Instant>,
    shutdown_done: bool,
    refusing: Arc<AtomicBool>,
}

/// The thread body: start, report readiness, loop until shut down, tear down.
pub(super) fn run(cfg: SipConfig, dir: Directory, io: Io, ready: Sender<Result<(), String>>) {
    let Io {
        events,
        commands,
        wake,
        refusing,
    } = io;
    // No `;transport=udp,tcp`: Debian's nta_agent_add_tport (1.12.11) splits that list
    // into an array that has gone out of scope when it is read (fixed upstream as
    // FS-6030), and it crashed here. Without the parameter nta binds its default list,
    // which is UDP and TCP (SCTP is skipped when the kernel lacks it).
    let url = match cfg.listen {
        SocketAddr::V4(a) => format!("sip:{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("sip:[{}]:{}", a.ip(), a.port()),
    };
    let session_timer = cfg.session_expires;
    let user_agent = cfg.user_agent.clone();
    let stack = Box::new(RefCell::new(Stack::new(
        cfg, dir, events, commands, refusing,
    )));
    let mut opts = vec![
        Opt::Url(&url),
        Opt::UserAgent(&user_agent),
        // REFER too, so that we answer it ourselves (see `refer`): NUA would accept
        // every REFER with 202 before telling us.
        Opt::ApplMethod("REGISTER, REFER"),
        Opt::AllowOnly(ALLOW),
        Opt::MediaEnable(false),
        Opt::AutoAnswer(false),
        Opt::AutoAlert(false),
        // No RFC 5626 keep-alives or self-validation for our trunk registrations.
        Opt::Outbound("no-options-keepalive, no-validate"),
    ];
    if session_timer > 0 {
        opts.push(Opt::SessionTimer(session_timer));
        opts.push(Opt::MinSe(90));
    }
    let agent = match Agent::create(&stack, wake.raw(), &opts) {
        Ok(a) => a,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    {
        let mut s = stack.borrow_mut();
        s.nua = Some(agent.nua());
        s.start();
    }
    log::info!("sip: listening on {url}");
    let _ = ready.send(Ok(()));

    loop {
        crate::heartbeat::tick(crate::heartbeat::Loop::Sip);
        let timeout = stack.borrow().step_timeout(Instant::now());
        agent.step(timeout.as_millis() as i64);
        let mut s = stack.borrow_mut();
        s.tick(Instant::now());
        if s.shutdown_done || s.shutdown_deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    stack.borrow_mut().nua = None;
    agent.destroy();
    log::info!("sip: stopped");
}

impl Stack {
    fn new(
        cfg: SipConfig,
        dir: Directory,
        events: Sender<SipEvent>,
        commands: Receiver<Cmd>,
        refusing: Arc<AtomicBool>,
    ) -> Stack {
        Stack {
            nua: None,
            cfg,
            dir,
            events,
            commands,
            key: NonceKey::random(),
            registrar: Registrar::new(),
            legs: HashMap::new(),
            aux: HashMap::new(),
            trunk_regs: HashMap::new(),
            next_incoming: 1,
            // Distinct o= session ids across restarts without a clock dependency later.
            next_session_id: now_secs(),
            next_qualify: None,
            shutdown_deadline: None,
            shutdown_done: false,
            refusing,
        }
    }

    /// First actions once the agent listens.
    fn start(&mut self) {
        self.report_status();
        self.sync_trunk_registrations();
        self.next_qualify = self.cfg.qualify_interval.map(|i| Instant::now() + i);
    }

    fn step_timeout(&self, now: Instant) -> Duration {
        let mut next = now + MAX_STEP;
        if let Some(t) = self.registrar.next_expiry() {
            next = next.min(t);
        }
        if let Some(t) = self.next_qualify {
            next = next.min(t);
        }
        next.saturating_duration_since(now)
    }

    /// Timers: registration expiry, qualify rounds, a vanished command sender.
    fn tick(&mut self, now: Instant) {
        self.registrar.expire(now);
        self.report_status();
        self.drain_commands();
        if self.next_qualify.is_some_and(|t| now >= t) {
            self.qualify_round();
            self.next_qualify = self.cfg.qualify_interval.map(|i| now + i);
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutdown_deadline.is_none() {
            self.shutdown_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
            if let Some(nua) = self.nua {
                nua.shutdown();
            }
        }
    }

    /// New calls are refused (the daemon is draining before it stops).
    pub fn refusing_new_calls(&self) -> bool {
        self.refusing.load(Ordering::Relaxed)
    }

    pub fn nua(&self) -> Option<Nua> {
        self.nua
    }

    /// Reports every device whose contacts or reachability changed.
    pub fn report_status(&mut self) {
        for (device, contacts, reachable) in self.registrar.status_changes(&self.dir) {
            self.emit(SipEvent::DeviceStatus {
                device,
                contacts,
                reachable,
            });
        }
    }

    /// Sends an event that must not be lost (blocks while the channel is full). While
    /// shutting down it never blocks: whoever stopped us may have stopped reading too,
    /// and waiting on them would hang the join.
    pub fn emit(&self, ev: SipEvent) {
        let sent = if self.shutdown_deadline.is_some() {
            self.events.try_send(ev).is_ok()
        } else {
            self.events.send(ev).is_ok()
        };
        if !sent {
            log::debug!("sip: event dropped (shutting down, or nobody listens any more)");
        }
    }

    pub fn new_incoming_leg(&mut self) -> LegId {
        let id = LegId(LegId::INCOMING | self.next_incoming);
        self.next_incoming += 1;
        id
    }

    pub fn new_origin(&mut self) -> Origin {
        self.next_session_id += 1;
        Origin {
            session_id: self.next_session_id,
            version: 0,
        }
    }

    /// Renders our SDP for a leg, raising its o= version.
    pub fn leg_sdp(&mut self, leg: LegId, media: &MediaDesc) -> Option<String> {
        let l = self.legs.get_mut(&leg)?;
        l.origin.version += 1;
        let sdp = super::sdp::render(media, l.origin);
        l.last_sdp = Some(sdp.clone());
        Some(sdp)
    }

    /// Forgets a leg and frees its handle.
    pub fn drop_leg(&mut self, leg: LegId) {
        if let Some(l) = self.legs.remove(&leg) {
            log::debug!("sip: {leg} over; handle freed");
            l.nh.destroy();
        }
    }

    /// The host we put in From/To of requests we originate.
    pub fn our_host(&self) -> String {
        let ip = self.cfg.listen.ip();
        if ip.is_unspecified() {
            self.cfg.realm.clone()
        } else {
            match self.cfg.listen {
                SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
                SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
            }
        }
    }

    fn command(&mut self, cmd: SipCommand) {
        match cmd {
            SipCommand::Respond {
                leg,
                code,
                reason,
                media,
            } => self.respond(leg, code, &reason, media),
            SipCommand::Invite {
                leg,
                target,
                from_user,
                from_display,
                media,
            } => self.invite(leg, target, &from_user, from_display.as_deref(), &media),
            SipCommand::AnswerReoffer { leg, media } => self.answer_reoffer(leg, &media),
            SipCommand::Hangup { leg } => self.hangup(leg),
            SipCommand::Reload(dir) => self.reload(*dir),
            SipCommand::ReferOutcome { leg, code } => self.refer_outcome(leg, code),
        }
    }

    /// Runs queued commands, at most a batch so a flood cannot starve Sofia's own
    /// sockets; the rest run after the next step (the loop calls this every step).
    fn drain_commands(&mut self) {
        for _ in 0..256 {
            match self.commands.try_recv() {
                Ok(Cmd::Sip(cmd)) => self.command(cmd),
                Ok(Cmd::Shutdown) | Err(TryRecvError::Disconnected) => {
                    self.begin_shutdown();
                    return;
                }
                Err(TryRecvError::Empty) => return,
            }
        }
    }

    fn reload(&mut self, dir: Directory) {
        self.dir = dir;
        self.registrar.retain_devices(&self.dir);
        self.report_status();
        self.sync_trunk_registrations();
    }
}

impl Sink for Stack {
    fn on_event(&mut self, ev: &Event<'_>) {
        log::trace!(
            "sip: event {:?} {} {} magic={:#x}",
            ev.kind,
            ev.status,
            ev.phrase,
            ev.magic
        );
        let Some(nh) = ev.handle else {
            if ev.kind == EventKind::RShutdown && ev.status >= 200 {
                self.shutdown_done = true;
            }
            return;
        };
        if ev.magic != 0 {
            let leg = LegId(ev.magic);
            if self.legs.contains_key(&leg) {
                self.leg_event(leg, ev);
            }
            return;
        }
        if self.aux.contains_key(&nh) {
            self.aux_event(nh, ev);
            return;
        }
        match ev.kind {
            EventKind::IRegister => self.on_register(nh, ev),
            EventKind::IInvite => self.on_new_invite(nh, ev),
            EventKind::IRefer => self.refuse_refer(nh),
            EventKind::RShutdown if ev.status >= 200 => self.shutdown_done = true,
            // Requests Sofia answered itself on a handle it made for them (OPTIONS,
            // out-of-dialog INFO, ...): the handle is ours to free.
            EventKind::IOptions | EventKind::IInfo | EventKind::INotify | EventKind::Other(_) => {
                nh.destroy()
            }
            EventKind::IState if ev.callstate() == Some(super::ffi::CallState::Terminated) => {
                nh.destroy()
            }
            _ => {}
        }
    }

    fn on_wake(&mut self) {
        self.drain_commands();
    }
}

/// Seconds on the wall clock, for nonces (which must survive nothing but this process).
pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

//! A simulated world for the switchboard: a clock that only moves when told, a media
//! room that opens ports at once, and a store that keeps rows the way SQLite would.
//!
//! Tests read like scripts: "a phone calls 1002, 1002 rings, answers, the caller hangs
//! up", then assert what a user would check (what the phones were sent, the call row,
//! the call trail) and that nothing leaked.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use callbox::core::*;
use chrono::{TimeZone, Utc};

pub const PHONE_1001: DeviceId = DeviceId(1);
pub const PHONE_1002: DeviceId = DeviceId(2);
pub const CARRIER: TrunkId = TrunkId(1);
pub const SERVICE_NUMBER: &str = "4008001234";

/// Two phones, one carrier, one service number ringing 1001.
pub fn demo_directory() -> Directory {
    let device = |id: DeviceId, user: &str| Device {
        id,
        user: user.into(),
        password: "secret".into(),
        name: format!("phone {user}"),
        static_contact: None,
    };
    Directory {
        devices: vec![device(PHONE_1001, "1001"), device(PHONE_1002, "1002")],
        trunks: vec![Trunk {
            id: CARRIER,
            name: "carrier".into(),
            host: "127.0.0.2:5070".into(),
            inbound_peers: vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))],
            outbound_proxy: None,
            register: None,
            caller_id: "4008000000".into(),
            codecs: vec![Codec::Pcma, Codec::Pcmu],
        }],
        service_numbers: vec![ServiceNumber {
            number: SERVICE_NUMBER.into(),
            trunk: CARRIER,
            device: Some(PHONE_1001),
            flow: None,
            group: None,
            priority: 0,
            language: Language::ZhCn,
        }],
        agents: Vec::new(),
        groups: Vec::new(),
        flows: Vec::new(),
        busy_reasons: Vec::new(),
        vip_numbers: Vec::new(),
        prompt_files: Vec::new(),
        customer_pins: Vec::new(),
        outbound_prefix: "9".into(),
    }
}

/// Desk phone `100n` (device id `n`), password "pw".
pub fn desk(n: i64) -> Device {
    Device {
        id: DeviceId(n),
        user: format!("100{n}"),
        password: "pw".into(),
        name: format!("desk 100{n}"),
        static_contact: None,
    }
}

/// Agent `800n` (id `n`) on desk phone `100n`, direct line `1380013800n` (put through
/// without "press 1"), in `group` at `level`.
pub fn agent(n: i64, group: GroupId, level: u32) -> Agent {
    Agent {
        id: AgentId(n),
        number: format!("800{n}"),
        name: format!("agent {n}"),
        direct_number: Some(format!("1380013800{n}")),
        bound_device: Some(DeviceId(n)),
        softphone: None,
        answer_mode: AnswerMode::Device,
        offline_answering: false,
        allow_fallback: false,
        confirm_direct: false,
        supervisor: false,
        groups: vec![Membership { group, level }],
    }
}

pub fn audio(port: u16, codecs: &[Codec]) -> MediaDesc {
    MediaDesc {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        codecs: codecs.to_vec(),
        dtmf_pt: Some(101),
        direction: Direction::SendRecv,
    }
}

pub struct World {
    pub board: Switchboard,
    start: Instant,
    pub elapsed: Duration,
    /// Everything the switchboard asked for, in order (media opens included).
    pub log: Vec<Output>,
    /// The latest row per call, as an upserting store would hold it.
    pub rows: BTreeMap<i64, CallRecord>,
    /// Trail lines per call, as inserted.
    pub trails: BTreeMap<i64, Vec<CallEventRecord>>,
    /// The agent status log, in order.
    pub status_log: Vec<acd::AgentStatusRecord>,
    /// Command replies, in order.
    pub replies: Vec<Result<Reply, CommandError>>,
    /// Audit-log lines written (supervision).
    pub audit: Vec<callbox::core::AuditRecord>,
    next_port: u16,
    next_incoming: u64,
}

impl World {
    pub fn new() -> World {
        World::with(demo_directory(), true)
    }

    pub fn with(directory: Directory, record: bool) -> World {
        let config = SwitchboardConfig {
            record,
            data_dir: PathBuf::from("/var/lib/callbox"),
            first_call_id: 1,
            ring_timeout: Duration::from_secs(60),
            rtp_timeout: Duration::from_secs(60),
            sounds_dir: PathBuf::from("/sounds"),
            seed: 7,
            utc_offset: chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"),
            survey_scale: 3,
        };
        World {
            board: Switchboard::new(config, directory),
            start: Instant::now(),
            elapsed: Duration::ZERO,
            log: Vec::new(),
            rows: BTreeMap::new(),
            trails: BTreeMap::new(),
            status_log: Vec::new(),
            replies: Vec::new(),
            audit: Vec::new(),
            next_port: 20000,
            next_incoming: 1,
        }
    }

    pub fn now(&self) -> Now {
        let wall = Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .expect("a valid date")
            + chrono::Duration::from_std(self.elapsed).expect("short durations");
        Now {
            mono: self.start + self.elapsed,
            wall,
        }
    }

    /// Feed an input and drain, answering media opens at once. Returns the SIP
    /// commands it caused (the part phones and carriers see).
    pub fn feed(&mut self, input: Input) -> Vec<SipCommand> {
        let mut pending = vec![input];
        let mut sip = Vec::new();
        while let Some(input) = pending.pop() {
            let now = self.now();
            self.board.handle(now, input);
            while let Some(out) = self.board.poll_output() {
                match &out {
                    Output::Media(MediaCommand::Open { leg }) => {
                        let local = SocketAddr::from(([10, 0, 0, 1], self.next_port));
                        self.next_port += 2;
                        pending.insert(0, Input::Media(MediaEvent::Opened { leg: *leg, local }));
                    }
                    Output::Sip(cmd) => sip.push(cmd.clone()),
                    Output::Store(StoreOp::Call(row)) => {
                        self.rows.insert(row.id.0, (**row).clone());
                    }
                    Output::Store(StoreOp::CallEvent(line)) => {
                        self.trails
                            .entry(line.call.0)
                            .or_default()
                            .push((**line).clone());
                    }
                    Output::Store(StoreOp::AgentStatus(row)) => {
                        self.status_log.push((**row).clone());
                    }
                    Output::Reply { result, .. } => self.replies.push(result.clone()),
                    Output::Store(StoreOp::Audit(row)) => self.audit.push((**row).clone()),
                    Output::Store(StoreOp::BindDevice { .. }) => {}
                    Output::Media(_) => {}
                }
                self.log.push(out);
            }
        }
        sip
    }

    pub fn sip(&mut self, event: SipEvent) -> Vec<SipCommand> {
        self.feed(Input::Sip(event))
    }

    /// Move the clock, firing the switchboard's timeouts on the way.
    pub fn advance(&mut self, by: Duration) -> Vec<SipCommand> {
        let target = self.elapsed + by;
        let mut sip = Vec::new();
        while let Some(at) = self.board.poll_timeout() {
            let at = at.duration_since(self.start);
            if at > target {
                break;
            }
            self.elapsed = at.max(self.elapsed);
            sip.extend(self.feed(Input::Timeout));
        }
        self.elapsed = target;
        sip
    }

    /// A new incoming INVITE; returns its leg and what the switchboard sent.
    pub fn invite(
        &mut self,
        source: CallSource,
        from: &str,
        to: &str,
        offer: Option<MediaDesc>,
    ) -> (LegId, Vec<SipCommand>) {
        let leg = LegId(LegId::INCOMING | self.next_incoming);
        self.next_incoming += 1;
        let sent = self.sip(SipEvent::IncomingCall(Box::new(IncomingCall {
            leg,
            source,
            from_user: from.into(),
            from_display: None,
            to_user: to.into(),
            offer,
            sip_call_id: format!("sim-{}", leg.0),
        })));
        (leg, sent)
    }

    pub fn media_commands(&self) -> Vec<&MediaCommand> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Media(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn row(&self, call: i64) -> &CallRecord {
        self.rows.get(&call).expect("the call has a row")
    }

    pub fn trail_kinds(&self, call: i64) -> Vec<&'static str> {
        self.trails
            .get(&call)
            .map(|t| t.iter().map(|l| l.kind.as_str()).collect())
            .unwrap_or_default()
    }

    /// Every test ends here: no call, no leg, no timer left behind, every opened
    /// media endpoint closed, and trail lines numbered without gaps.
    pub fn assert_idle(&self) {
        assert_eq!(self.board.active_calls(), 0, "calls leaked");
        assert_eq!(self.board.active_legs(), 0, "legs leaked");
        assert_eq!(self.board.poll_timeout(), None, "timers leaked");
        let mut open = std::collections::BTreeSet::new();
        for m in self.media_commands() {
            match m {
                MediaCommand::Open { leg } => {
                    open.insert(*leg);
                }
                MediaCommand::Close { leg } => {
                    assert!(open.remove(leg), "{leg} closed twice or never opened");
                }
                _ => {}
            }
        }
        assert!(open.is_empty(), "media endpoints left open: {open:?}");
        for (call, lines) in &self.trails {
            let seqs: Vec<u32> = lines.iter().map(|l| l.seq).collect();
            let expected: Vec<u32> = (0..lines.len() as u32).collect();
            assert_eq!(seqs, expected, "trail of call {call} out of order");
        }
        for row in self.rows.values() {
            assert!(row.ended_at.is_some(), "call {} never closed", row.id.0);
        }
        self.assert_status_log_chains();
        for row in &self.status_log {
            let state = self.board_state_of(row.agent);
            assert!(
                !state.on_a_call(),
                "agent #{} left {state:?} with no call",
                row.agent.0
            );
        }
    }

    /// Each agent's status rows chain: a row's `from` is the previous row's `to`, and
    /// the first starts from offline.
    pub fn assert_status_log_chains(&self) {
        let mut last: BTreeMap<i64, acd::AgentState> = BTreeMap::new();
        for row in &self.status_log {
            let prev = last
                .get(&row.agent.0)
                .copied()
                .unwrap_or(acd::AgentState::Offline);
            assert_eq!(
                row.from, prev,
                "status log of agent #{} breaks its chain at {row:?}",
                row.agent.0
            );
            last.insert(row.agent.0, row.to);
        }
    }

    fn board_state_of(&self, agent: AgentId) -> acd::AgentState {
        self.status_log
            .iter()
            .rev()
            .find(|r| r.agent == agent)
            .map_or(acd::AgentState::Offline, |r| r.to)
    }

    /// Phones `ids` registered and reachable, as the SIP room would report them.
    pub fn register(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.sip(SipEvent::DeviceStatus {
                device: DeviceId(id),
                contacts: 1,
                reachable: true,
            });
        }
    }

    /// Agent `number` logs in in their default mode; the test fails if refused.
    pub fn login(&mut self, number: &str) {
        let r = self.command(Command::Login {
            agent: number.into(),
            mode: None,
            by: acd::StatusCause::Agent,
        });
        assert!(r.is_ok(), "{number} logs in: {r:?}");
    }

    /// The prompt playing to `leg` ends: `PlayDone` with the tag of the last `Play`.
    pub fn play_done(&mut self, leg: LegId) -> Vec<SipCommand> {
        let tag = self
            .media_commands()
            .iter()
            .rev()
            .find_map(|m| match m {
                MediaCommand::Play { leg: l, tag, .. } if *l == leg => Some(*tag),
                _ => None,
            })
            .expect("something was played to the leg");
        self.feed(Input::Media(MediaEvent::PlayDone { leg, tag }))
    }

    /// Send a command; returns its reply.
    pub fn command(&mut self, command: Command) -> Result<Reply, CommandError> {
        let before = self.replies.len();
        self.feed(Input::Command { id: 1, command });
        self.replies
            .get(before)
            .cloned()
            .expect("every command is answered")
    }

    /// The agent's status rows, oldest first, as (from, to, detail).
    pub fn agent_rows(&self, agent: AgentId) -> Vec<(acd::AgentState, acd::AgentState, String)> {
        self.status_log
            .iter()
            .filter(|r| r.agent == agent)
            .map(|r| (r.from, r.to, r.detail.clone()))
            .collect()
    }
}

/// The outgoing INVITE among `sent`, with its leg.
pub fn invite_of(sent: &[SipCommand]) -> (LegId, Target, MediaDesc, String) {
    sent.iter()
        .find_map(|c| match c {
            SipCommand::Invite {
                leg,
                target,
                media,
                from_user,
                ..
            } => Some((*leg, target.clone(), media.clone(), from_user.clone())),
            _ => None,
        })
        .expect("an INVITE was sent")
}

/// The response codes sent to `leg`, in order.
pub fn responses_to(sent: &[SipCommand], to: LegId) -> Vec<u16> {
    sent.iter()
        .filter_map(|c| match c {
            SipCommand::Respond { leg, code, .. } if *leg == to => Some(*code),
            _ => None,
        })
        .collect()
}

pub fn hangups(sent: &[SipCommand]) -> Vec<LegId> {
    sent.iter()
        .filter_map(|c| match c {
            SipCommand::Hangup { leg } => Some(*leg),
            _ => None,
        })
        .collect()
}

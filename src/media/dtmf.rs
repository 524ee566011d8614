//! RFC 4733 telephone-events on the receive side: which digit ended, and for how long.
//!
//! A sender repeats each event every 50 ms or so with a growing duration, all with the
//! event's start timestamp, then sends the end packet three times. We report a digit
//! once, on the first end packet, and remember that timestamp so the retransmissions
//! are ignored. If every end packet is lost, the next event (a new timestamp) flushes
//! the old one with the last duration seen, so a digit is never silently swallowed.
//!
//! Pure: no I/O and no clock; the engine feeds it the payload and RTP timestamp of
//! each packet on the leg's telephone-event payload type. Peer bytes never panic it.

use super::stream::CLOCK_RATE;

/// One telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub code: u8,
    pub end: bool,
    pub volume: u8,
    /// In RTP timestamp units since the event's start.
    pub duration: u16,
}

impl Event {
    /// Reads the first event of a payload; `None` if shorter than 4 bytes.
    pub fn parse(payload: &[u8]) -> Option<Event> {
        let p = payload.get(..4)?;
        Some(Event {
            code: p[0],
            end: p[1] & 0x80 != 0,
            volume: p[1] & 0x3f,
            duration: u16::from_be_bytes([p[2], p[3]]),
        })
    }
}

/// A finished digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digit {
    pub digit: char,
    pub duration_ms: u32,
}

/// The DTMF character for an event code (RFC 4733 §3.2); other events (flash,
/// modem tones) have none and are not reported.
pub fn digit_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

/// Receive state of one leg.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    /// The event in progress and not yet reported: its timestamp, code and duration.
    open: Option<(u32, u8, u16)>,
    /// Timestamp of the last event reported, to drop its end retransmissions.
    reported: Option<u32>,
}

impl DtmfReceiver {
    /// Takes one packet; calls `emit` for each digit that ended (at most two: a lost
    /// one flushed by a new event, and this one).
    pub fn on_packet(&mut self, ts: u32, ev: Event, mut emit: impl FnMut(Digit)) {
        if self.reported == Some(ts) {
            return;
        }
        if let Some((open_ts, code, duration)) = self.open
            && open_ts != ts
        {
            // A new event began and the old one never showed its end bit.
            self.open = None;
            self.reported = Some(open_ts);
            if let Some(d) = to_digit(code, duration) {
                emit(d);
            }
        }
        if ev.end {
            self.open = None;
            self.reported = Some(ts);
            if let Some(d) = to_digit(ev.code, ev.duration) {
                emit(d);
            }
        } else {
            self.open = Some((ts, ev.code, ev.duration));
        }
    }
}

fn to_digit(code: u8, duration: u16) -> Option<Digit> {
    let digit = digit_char(code)?;
    Some(Digit {
        digit,
        duration_ms: u32::from(duration) * 1000 / CLOCK_RATE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: u8, end: bool, duration: u16) -> Event {
        Event {
            code,
            end,
            volume: 10,
            duration,
        }
    }

    fn feed(rx: &mut DtmfReceiver, packets: &[(u32, Event)]) -> Vec<Digit> {
        let mut out = Vec::new();
        for &(ts, e) in packets {
            rx.on_packet(ts, e, |d| out.push(d));
        }
        out
    }

    #[test]
    fn reports_once_per_event_despite_three_end_packets() {
        let mut rx = DtmfReceiver::default();
        let got = feed(
            &mut rx,
            &[
                (1000, ev(5, false, 400)),
                (1000, ev(5, false, 800)),
                (1000, ev(5, true, 1280)),
                (1000, ev(5, true, 1280)),
                (1000, ev(5, true, 1280)),
                (9000, ev(11, false, 160)),
                (9000, ev(11, true, 800)),
                (9000, ev(11, true, 800)),
            ],
        );
        assert_eq!(
            got,
            vec![
                Digit {
                    digit: '5',
                    duration_ms: 160
                },
                Digit {
                    digit: '#',
                    duration_ms: 100
                }
            ]
        );
    }

    #[test]
    fn same_digit_twice_is_two_events() {
        let mut rx = DtmfReceiver::default();
        let got = feed(
            &mut rx,
            &[
                (100, ev(1, true, 800)),
                (100, ev(1, true, 800)),
                (5000, ev(1, true, 800)),
            ],
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_lost_end_is_flushed_by_the_next_event() {
        let mut rx = DtmfReceiver::default();
        let got = feed(
            &mut rx,
            &[
                (100, ev(12, false, 480)),
                (4000, ev(0, false, 160)),
                (4000, ev(0, true, 960)),
            ],
        );
        assert_eq!(
            got,
            vec![
                Digit {
                    digit: 'A',
                    duration_ms: 60
                },
                Digit {
                    digit: '0',
                    duration_ms: 120
                }
            ]
        );
    }

    #[test]
    fn non_digit_events_and_short_payloads_report_nothing() {
        let mut rx = DtmfReceiver::default();
        assert!(feed(&mut rx, &[(1, ev(16, true, 800))]).is_empty());
        assert_eq!(Event::parse(&[1, 0x80, 0]), None);
        assert_eq!(
            Event::parse(&[11, 0x8a, 0x03, 0x20, 0xff]),
            Some(ev(11, true, 800))
        );
    }
}

//! The words of the records area in zh-CN and English: an export's column headers and
//! cell words, a missed call's reason, the file name of a download.
//!
//! The web pages have their own copies (web/src/locales/*/records.js) because they
//! show the same words without asking the daemon; these are for what the daemon
//! writes itself (files, `reason_text`). Pure.

use crate::core::{CallDirection, HangupBy};
use crate::store::{CallResult, MissedReason};

use super::query::Lang;

/// An export's columns, in order: (zh-CN, en).
pub const COLUMNS: &[(&str, &str)] = &[
    ("通话ID", "Call ID"),
    ("方向", "Direction"),
    ("主叫号码", "Caller"),
    ("被叫号码", "Callee"),
    ("服务号码", "Service number"),
    ("开始时间", "Started"),
    ("接听时间", "Answered"),
    ("结束时间", "Ended"),
    ("排队等待(秒)", "Wait (s)"),
    ("通话时长(秒)", "Talk (s)"),
    ("保持时长(秒)", "Hold (s)"),
    ("结果", "Result"),
    ("未接原因", "Missed because"),
    ("坐席工号", "Agent"),
    ("坐席姓名", "Agent name"),
    ("技能组", "Skill group"),
    ("挂机方", "Hung up by"),
    ("结束原因", "End cause"),
    ("SIP码", "SIP code"),
    ("满意度", "Survey score"),
    ("录音时长(秒)", "Recording (s)"),
];

pub fn header(lang: Lang) -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(move |(zh, en)| match lang {
        Lang::ZhCn => *zh,
        Lang::En => *en,
    })
}

fn pick(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::ZhCn => zh,
        Lang::En => en,
    }
}

pub fn direction(lang: Lang, d: CallDirection) -> &'static str {
    match d {
        CallDirection::Inbound => pick(lang, "呼入", "inbound"),
        CallDirection::Outbound => pick(lang, "呼出", "outbound"),
        CallDirection::Internal => pick(lang, "内部", "internal"),
    }
}

pub fn result(lang: Lang, r: CallResult) -> &'static str {
    match r {
        CallResult::Answered => pick(lang, "已接通", "answered"),
        CallResult::Abandoned => pick(lang, "放弃", "abandoned"),
        CallResult::NoAnswer => pick(lang, "无人接听", "no answer"),
        CallResult::Busy => pick(lang, "忙线", "busy"),
        CallResult::Refused => pick(lang, "被拒绝", "refused"),
        CallResult::Ongoing => pick(lang, "通话中", "in progress"),
    }
}

pub fn hangup_by(lang: Lang, h: HangupBy) -> &'static str {
    match h {
        HangupBy::Caller => pick(lang, "主叫", "caller"),
        HangupBy::Callee => pick(lang, "被叫", "callee"),
        HangupBy::System => pick(lang, "系统", "system"),
    }
}

/// A missed call's reason in words.
pub fn reason(lang: Lang, r: MissedReason) -> &'static str {
    match r {
        MissedReason::QueueAbandoned => pick(
            lang,
            "排队中放弃:来电在技能组排队时挂机",
            "abandoned in the queue: the caller hung up while waiting",
        ),
        MissedReason::RingAbandoned => pick(
            lang,
            "振铃中放弃:话机振铃时来电挂机",
            "abandoned while ringing: the caller hung up before the phone was answered",
        ),
        MissedReason::IvrAbandoned => pick(
            lang,
            "IVR中挂机:来电在语音导航中挂机",
            "hung up in the IVR, before reaching a queue",
        ),
        MissedReason::NoAgent => pick(
            lang,
            "无坐席接听:无人签入、排队超时或溢出后挂断",
            "no agent took it: nobody logged in, waited too long, or overflowed to goodbye",
        ),
        MissedReason::IvrEnded => pick(
            lang,
            "IVR结束通话:如非工作时间",
            "the IVR ended the call (for example outside business hours)",
        ),
        MissedReason::Refused => pick(
            lang,
            "系统拒接:号码无效或服务不可用",
            "refused by the box or the callee (a SIP error)",
        ),
        MissedReason::Interrupted => pick(
            lang,
            "通话中断:callbox 停止运行",
            "interrupted: callbox stopped during the call",
        ),
        MissedReason::NotAnswered => pick(
            lang,
            "无人接听:所振铃的话机或号码未接",
            "not answered by the phone or number it rang",
        ),
    }
}

/// What an export's file is called when downloaded: `通话记录-2026-12-01.xlsx`.
pub fn file_name(lang: Lang, date: &str, format: &str) -> String {
    format!("{}-{date}.{format}", pick(lang, "通话记录", "calls"))
}

/// An RFC 6266 `Content-Disposition` for `name`: an ASCII `filename` for old clients
/// and the real one in `filename*` (RFC 5987, UTF-8, percent-encoded).
pub fn content_disposition(name: &str, ascii_fallback: &str) -> String {
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_carry_the_chinese_name_encoded() {
        let name = file_name(Lang::ZhCn, "2026-12-01", "xlsx");
        assert_eq!(name, "通话记录-2026-12-01.xlsx");
        let fallback = file_name(Lang::En, "2026-12-01", "xlsx");
        assert_eq!(
            content_disposition(&name, &fallback),
            "attachment; filename=\"calls-2026-12-01.xlsx\"; \
             filename*=UTF-8''%E9%80%9A%E8%AF%9D%E8%AE%B0%E5%BD%95-2026-12-01.xlsx"
        );
    }

    #[test]
    fn every_reason_and_result_has_words_in_both_languages() {
        for r in MissedReason::ALL {
            assert_ne!(reason(Lang::ZhCn, r), reason(Lang::En, r));
        }
        for r in CallResult::ALL {
            assert_ne!(result(Lang::ZhCn, r), result(Lang::En, r));
        }
        assert_eq!(header(Lang::ZhCn).count(), header(Lang::En).count());
    }
}

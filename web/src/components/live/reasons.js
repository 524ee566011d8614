// The switchboard's words in the panel's language: the "why" verdicts
// (src/core/acd/reach.rs says them in English), what it said of each member when a
// caller queued, and the status log's details. A table of the sentences it says,
// each with its Chinese; a sentence the table does not know is shown as it was said.

const MODES = { 'desk phone': '坐席话机', softphone: '软电话', 'direct line': '直线' }
const STATES = {
  'logged out': '已签出',
  idle: '空闲',
  'on a break': '小休中',
  'in after-call work': '话后处理中',
  'ringing with another call': '正在振铃另一通来电',
  'calling out': '正在外呼',
  'on a call': '通话中',
}

const pad = (n) => String(n).padStart(2, '0')

/** "2026-03-01 09:00:00 UTC" as local "03-01 17:00:00". */
export function localTime(utc) {
  const d = new Date(utc.replace(' UTC', 'Z').replace(' ', 'T'))
  if (Number.isNaN(d.getTime())) return utc
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

const RULES = [
  [/^not a member of any skill group$/, () => '不属于任何技能组'],
  [/^logged out$/, () => '已签出'],
  [
    /^logged out, but offline answering sends queue calls to the direct number$/,
    () => '已签出,但开启了离线接听:队列来电转到直线号码',
  ],
  [/^in after-call work for another (\d+) s$/, (m) => `话后处理中,还需 ${m[1]} 秒`],
  [
    /^busy \((.*)\) since (.+ UTC) \((\d+) s ago\)$/,
    (m) => `忙碌(${m[1] === 'no reason given' ? '无原因' : m[1]}),自 ${localTime(m[2])} 起(${m[3]} 秒前)`,
  ],
  [
    /^(logged out|idle|on a break|in after-call work|ringing with another call|calling out|on a call) since (.+ UTC) \((\d+) s ago\)$/,
    (m) => `${STATES[m[1]]},自 ${localTime(m[2])} 起(${m[3]} 秒前)`,
  ],
  [/^the phone failed or is gone: calls go to the direct number$/, () => '话机故障或已离线:来电转到直线号码'],
  [
    /^the (desk phone|softphone|direct line) is gone: calls fall back to the direct number$/,
    (m) => `${MODES[m[1]]}已离线:来电改转直线号码`,
  ],
  [/^no desk phone is bound to the agent$/, () => '坐席未绑定话机'],
  [/^the agent has no softphone login$/, () => '坐席没有软电话账号'],
  [/^phone (.+) is not registered$/, (m) => `话机 ${m[1]} 未注册`],
  [/^phone (.+) does not answer qualify pings$/, (m) => `话机 ${m[1]} 不响应在线探测`],
  [/^the agent has no direct number$/, () => '坐席未设置直线号码'],
  [/^no trunk to reach the direct number through$/, () => '没有可拨打直线号码的中继'],
  [/^(\d+) unanswered offers in a row$/, (m) => `已连续 ${m[1]} 次未接`],
  [/^the group no longer exists$/, () => '该技能组已不存在'],
  [/^free$/, () => '空闲可接'],
]

/** One verdict reason in `locale`; several joined by ", " are said one by one. */
function translate(rules, text) {
  for (const [re, words] of rules) {
    const m = text.match(re)
    if (m) return words(m)
  }
  return null
}

/** One verdict reason in `locale` (zh-CN: Chinese; otherwise as the daemon said it). */
export function reasonText(reason, locale) {
  if (locale !== 'zh-CN' || typeof reason !== 'string') return reason
  const whole = translate(RULES, reason)
  if (whole !== null) return whole
  const parts = reason.split(', ')
  const each = parts.map((p) => translate(RULES, p))
  return parts.length > 1 && each.every((p) => p !== null) ? each.join(',') : reason
}

/** What the switchboard said of a member when the caller queued ("8003 logged out"). */
export function saidText(said, locale) {
  if (locale !== 'zh-CN' || typeof said !== 'string') return said
  const [number, ...rest] = said.split(' ')
  const words = reasonText(rest.join(' '), locale)
  return `${number} ${words}`
}

const DETAILS = [
  [/^ready for calls$/, () => '置闲,可以接听来电'],
  [/^ended after-call work early$/, () => '提前结束话后处理'],
  [/^busy$/, () => '置忙'],
  [/^taking a break$/, () => '小休'],
  [/^logged out$/, () => '签出'],
  [/^logged in, answering on the (desk phone|softphone|direct line)$/, (m) => `签入,用${MODES[m[1]]}接听`],
  [/^answer mode switched to the (desk phone|softphone|direct line)$/, (m) => `接听方式切换为${MODES[m[1]]}`],
  [/^the call ended$/, () => '通话结束'],
  [/^the call was answered$/, () => '通话已接听'],
  [/^after-call work time is over$/, () => '话后处理时间结束'],
  [/^call from (.+) offered$/, (m) => `来电 ${m[1]} 振铃`],
  [/^call from (.+) rings the direct line \(fallback\)$/, (m) => `来电 ${m[1]} 在直线振铃(话机不可用)`],
  [/^offline answering: call from (.+) rings the direct line$/, (m) => `离线接听:来电 ${m[1]} 在直线振铃`],
  [/^offer withdrawn: another agent answered first$/, () => '来电已撤回:其他坐席已先接听'],
  [/^offer withdrawn: (.+)$/, (m) => `来电已撤回:${m[1]}`],
  [/^phone (.+) unregistered → direct line$/, (m) => `话机 ${m[1]} 已离线,转直线接听`],
  [/^phone (.+) registered again → back to the phone$/, (m) => `话机 ${m[1]} 重新注册,恢复话机接听`],
  [/^the agent was removed by an admin$/, () => '坐席已被管理员删除'],
]

/** A status-log row's detail in `locale` (as said when the table does not know it). */
export function detailText(detail, locale) {
  if (locale !== 'zh-CN' || typeof detail !== 'string') return detail
  return translate(DETAILS, detail) ?? detail
}

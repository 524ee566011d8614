// The whole call center as one story in Debian's Chromium (tests/web_callcenter.rs
// starts the daemon, the desk phone and the customer, and runs this). Owns only this
// story; the pages are the areas' (staff, lines, crm, records), not changed here.
//
// In Chinese: an admin sets up a skill group, a desk phone, a service number into the
// group's queue, a ticket type and an agent in the group on that phone; sees the
// phone register; the agent signs in with 坐席话机; a call rings and the pop shows the
// caller's 归属地 and the service number; the agent saves the card and a ticket while
// talking; the call is in 我的通话 and in the admin's 通话记录 with a playable
// recording and its trail; both exports finish and download; English and back.
//
// Talks to the test by files in SIGNAL_DIR: `phone` (the phone's login exists: start
// it), `ready` (the agent is signed in: call now), `answer` (the pop is checked:
// answer on the phone). Writes OUT/summary.json (the call, the query's total, the
// downloads). Environment: lib.mjs's, and ADMIN_USER, ADMIN_PASSWORD, GROUP,
// DEVICE_USER, DEVICE_PASSWORD, AGENT, AGENT_NAME, AGENT_PASSWORD, SERVICE, TRUNK,
// TICKET_TYPE, CALLER, PLACE (the caller's 归属地 as the pop shows it), SIGNAL_DIR, OUT.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { api, env, eventually, expectText, fail, field, launch, ok, run, shot, step, BASE, settled } from './lib.mjs'

const ADMIN = env('ADMIN_USER')
const ADMIN_PASSWORD = env('ADMIN_PASSWORD')
const GROUP = env('GROUP')
const DEVICE = env('DEVICE_USER')
const DEVICE_PASSWORD = env('DEVICE_PASSWORD')
const AGENT = env('AGENT')
const AGENT_NAME = env('AGENT_NAME')
const AGENT_PASSWORD = env('AGENT_PASSWORD')
const SERVICE = env('SERVICE')
const TRUNK = env('TRUNK')
const TYPE = env('TICKET_TYPE')
const CALLER = env('CALLER')
const PLACE = env('PLACE')
const SIGNALS = env('SIGNAL_DIR')
const OUT = env('OUT')
const CALL_MS = 30000

function say(name) {
  writeFileSync(join(SIGNALS, name), `${Date.now()}\n`)
  ok(`told the test: ${name}`)
}

const exactly = (label) => new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`)

/** Picks the option labelled exactly `label` in the el-select `name`: once the
 * dropdown has finished opening (a click during its zoom-in can be lost), and
 * until it has closed showing the label. */
async function pick(page, name, label) {
  await page.click(`[data-test=${name}]`)
  const option = page.locator('.el-select-dropdown:visible .el-select-dropdown__item', { hasText: exactly(label) }).first()
  await option.waitFor()
  await settled(page)
  await option.click()
  await eventually('the dropdown closes', async () => (await page.locator('.el-select-dropdown:visible').count()) === 0 || 'open')
  await expectText(page, `[data-test=${name}]`, label)
}

async function signIn(page, user, password, mode) {
  await page.goto(BASE + '/login', { waitUntil: 'domcontentloaded' })
  await expectText(page, '[data-test=login-title]', '坐席登录')
  await page.fill(field('login-user'), user)
  await page.fill(field('login-password'), password)
  if (mode) await page.click(`[data-test=mode-${mode}]`)
  await page.click('[data-test=login-submit]')
  await page.waitForURL((u) => !u.pathname.endsWith('/login'))
}

async function signOut(page) {
  await page.click('[data-test=shell-logout]')
  await page.waitForURL(/\/login$/)
}

/** Opens a page from the side menu and waits for it. */
async function nav(page, name, testId) {
  await page.click(`[data-test=nav-${name}]`)
  await page.locator(`[data-test=${testId}]`).waitFor()
}

/** Waits until the <audio> under `scope` has data to play and a duration. */
async function playable(page, scope) {
  await eventually(
    `the recording in ${scope} plays`,
    async () => {
      const s = await page.evaluate((sel) => {
        const a = document.querySelector(`${sel} audio`)
        if (!a) return 'no <audio>'
        return { ready: a.readyState, duration: a.duration, error: a.error?.code ?? null, src: a.currentSrc }
      }, scope)
      return (s.ready >= 2 && s.duration > 0) || s
    },
    15000,
  )
  ok(`the <audio> in ${scope} has data and a duration`)
}

/** The number in "共 N 条". */
async function totalShown(page) {
  const text = await page.locator('[data-test=calls-total]').innerText()
  const n = Number(text.match(/\d+/)?.[0])
  if (!Number.isFinite(n)) fail(`no total in ${text}`)
  return n
}

/** The call ids the calls table lists (its `call-<id>` cells). */
async function listedIds(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-test=calls-table] [data-test]')]
      .map((e) => e.getAttribute('data-test').match(/^call-(\d+)$/)?.[1])
      .filter(Boolean),
  )
}

/** The advanced query: this caller's inbound calls taken by the agent, once the
 * page's first list (all calls, with `call` among them) is in, so it cannot land
 * after the query's answer. */
async function query(page, call) {
  await page.locator(`[data-test=call-${call}]`).waitFor()
  await page.fill(field('filter-number'), CALLER)
  await pick(page, 'filter-direction', '呼入')
  await pick(page, 'filter-agent', `${AGENT} ${AGENT_NAME}`)
  await page.click('[data-test=filter-search]')
}

/** Exports what the calls page finds; waits for the task to finish; downloads it. */
async function exportAs(page, format, total) {
  await page.click(`[data-test=export-${format}]`)
  await page.waitForURL(/\/exports\?task=\d+/)
  const task = new URL(page.url()).searchParams.get('task')
  await eventually(
    `export ${task} finishes`,
    async () => {
      const state = await page.getAttribute(`[data-test=export-state-${task}]`, 'data-state')
      return state === 'done' || state
    },
    30000,
  )
  await expectText(page, `[data-test=export-state-${task}]`, '已完成')
  const rows = Number(await page.locator(`[data-test=export-rows-${task}]`).innerText())
  if (rows !== total) fail(`the ${format} export has ${rows} rows, the query ${total}`)
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-test=export-download-${task}]`)])
  const path = join(OUT, `calls.${format}`)
  await download.saveAs(path)
  const name = download.suggestedFilename()
  if (!new RegExp(`^通话记录-\\d{4}-\\d{2}-\\d{2}\\.${format}$`).test(name)) fail(`the ${format} file is named ${name}`)
  ok(`export ${task} (${format}): ${rows} rows, downloaded as ${name}`)
  return path
}

/** RFC 4180 CSV (quotes, doubled quotes, CRLF) into rows of cells; drops a BOM. */
function parseCsv(text) {
  const rows = []
  let row = []
  let cell = ''
  let quoted = false
  const s = text.replace(/^\uFEFF/, '')
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
    } else cell += c
  }
  if (cell !== '' || row.length) rows.push([...row, cell])
  return rows
}

async function main() {
  const page = await launch()

  step('the admin signs in, in Chinese')
  await signIn(page, ADMIN, ADMIN_PASSWORD)
  await page.locator('[data-test=side-menu]').waitFor()
  for (const word of ['技能组', '话机管理', '坐席管理', '服务号码', '工单类型', '通话记录'])
    await expectText(page, '[data-test=side-menu]', word)
  ok('the console menu is in Chinese')

  step('a skill group, on 技能组')
  await nav(page, 'staff-groups', 'staff-groups-page')
  await page.click('[data-test=group-add]')
  await page.fill(field('group-name'), GROUP)
  await pick(page, 'group-strategy', '最长空闲优先')
  await page.fill(field('group-ring'), '30')
  await page.fill(field('group-wrap-up'), '0')
  await page.click('[data-test=group-save]')
  await expectText(page, '[data-test=groups-table]', GROUP)
  await shot(page, 'callcenter-01-groups')

  step('a desk phone, on 话机管理')
  await nav(page, 'staff-devices', 'staff-devices-page')
  await page.click('[data-test=device-add]')
  await page.fill(field('device-user'), DEVICE)
  await page.fill(field('device-password'), DEVICE_PASSWORD)
  await page.fill(field('device-name'), '前台话机')
  await page.click('[data-test=device-save]')
  await expectText(page, '[data-test=devices-table]', '前台话机')
  await expectText(page, `[data-test=device-reg-${DEVICE}]`, '未注册')

  step("a service number into the group's queue, on 服务号码")
  await nav(page, 'lines-numbers', 'lines-numbers-page')
  await page.click('[data-test=number-add]')
  await page.locator('[data-test=number-dialog]').waitFor()
  await page.fill(field('number-number'), SERVICE)
  await pick(page, 'number-trunk', TRUNK)
  await pick(page, 'number-group', GROUP)
  await page.click('[data-test=number-save]')
  await expectText(page, `[data-test=number-route-${SERVICE}]`, GROUP)
  await shot(page, 'callcenter-02-numbers')

  step('a ticket type, on 工单类型')
  await nav(page, 'ticket-types', 'ticket-types-page')
  await page.click('[data-test=type-add]')
  await page.fill(field('type-name'), TYPE)
  await page.click('[data-test=type-add-field]')
  await page.fill(field('type-field-name-0'), '订单号')
  await page.click('[data-test=type-field-required-0]')
  await page.click('[data-test=type-save]')
  await expectText(page, '[data-test=types-table]', TYPE)
  await expectText(page, '[data-test=types-table]', '订单号')
  await shot(page, 'callcenter-03-ticket-types')

  step('an agent in the group on the desk phone, on 坐席管理')
  await nav(page, 'staff-agents', 'staff-agents-page')
  await page.click('[data-test=agent-add]')
  await page.locator('[data-test=agent-form]').waitFor()
  await page.fill(field('agent-number'), AGENT)
  await page.fill(field('agent-name'), AGENT_NAME)
  await page.fill(field('agent-web-password'), AGENT_PASSWORD)
  await page.click('[data-test=agent-mode-device]')
  await pick(page, 'agent-desk', `${DEVICE} · 前台话机`)
  await page.click('[data-test=agent-group-add]')
  await pick(page, 'agent-group-pick-0', GROUP)
  await shot(page, 'callcenter-04-agent-form')
  await page.click('[data-test=agent-save]')
  await expectText(page, '[data-test=agents-table]', AGENT_NAME)
  await expectText(page, '[data-test=agents-table]', GROUP)
  const made = await api('GET', `/api/v1/staff/agents/${AGENT}`)
  if (made.json?.bound_device?.user !== DEVICE || made.json?.groups?.[0]?.name !== GROUP || made.json?.answer_mode !== 'device')
    fail(`the agent is not kept as entered: ${made.status} ${made.text}`)
  ok('the agent is kept with the desk phone, the group and 坐席话机')
  say('phone')

  step('the desk phone registers with what the admin typed')
  await nav(page, 'staff-devices', 'staff-devices-page')
  await expectText(page, `[data-test=device-reg-${DEVICE}]`, '已注册', 20000)
  await expectText(page, '[data-test=devices-table]', `${AGENT} ${AGENT_NAME}`)
  await shot(page, 'callcenter-05-devices')
  await signOut(page)

  step('the agent signs in with 坐席话机')
  await page.goto(BASE + '/login', { waitUntil: 'domcontentloaded' })
  await expectText(page, '[data-test=mode-device]', '坐席话机')
  await page.fill(field('login-user'), AGENT)
  await page.fill(field('login-password'), AGENT_PASSWORD)
  await page.click('[data-test=mode-device]')
  await shot(page, 'callcenter-06-login')
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/workspace$/)
  await expectText(page, '[data-test=agent-mode]', '坐席话机')
  await expectText(page, '[data-test=agent-state]', '空闲')
  await expectText(page, '[data-test=customer-panel]', '等待来电')
  say('ready')

  step("the phone rings: the pop shows the caller's 归属地 and the service number")
  await expectText(page, '[data-test=call-state]', '振铃', CALL_MS)
  await expectText(page, '[data-test=pop-number]', CALLER)
  await expectText(page, '[data-test=pop-location]', PLACE)
  await expectText(page, '[data-test=pop-service-number]', SERVICE)
  await expectText(page, '[data-test=pop-queue]', GROUP)
  await expectText(page, '[data-test=pop-known]', '新客户')
  await shot(page, 'callcenter-07-pop-ringing')
  say('answer')
  await expectText(page, '[data-test=call-state]', '通话中', CALL_MS)

  step('the agent saves the customer card while talking')
  await page.fill(field('card-name'), '刘女士')
  await page.fill(field('card-company'), '成都某某科技有限公司')
  await page.fill(field('card-notes'), '来电咨询发票问题')
  await page.click('[data-test=card-save]')
  await expectText(page, '.el-message--success', '客户资料已保存')
  await expectText(page, '[data-test=pop-name]', '刘女士')

  step("and a ticket of the admin's type")
  await page.click('#tab-ticket')
  await pick(page, 'ticket-type', TYPE)
  await page.fill(field('ticket-title'), '发票抬头错误')
  await page.fill(field('ticket-field-0'), 'SO-2026-088')
  await page.fill(field('ticket-description'), '客户要求重开发票')
  await page.click('[data-test=ticket-submit]')
  await expectText(page, '[data-test=history-tickets]', '发票抬头错误')
  await expectText(page, '[data-test=pop-counts]', '未结工单 1 个')
  await shot(page, 'callcenter-08-card-ticket')

  step('the customer hangs up')
  await expectText(page, '[data-test=no-call]', '无通话', CALL_MS)
  await expectText(page, '[data-test=pop-ended]', '通话已结束')

  step("the call in the agent's 我的通话, its recording playing")
  await nav(page, 'my-calls', 'my-calls-page')
  await expectText(page, '[data-test=calls-table]', CALLER)
  const mine = await listedIds(page)
  if (mine.length !== 1) fail(`today the agent took one call, the page lists ${JSON.stringify(mine)}`)
  const call = mine[0]
  await expectText(page, '[data-test=calls-table]', '已接通')
  await page.click('[data-test=call-play]')
  await playable(page, '[data-test=now-playing]')
  await shot(page, 'callcenter-09-my-calls')
  await signOut(page)

  step("the admin's 通话记录: the advanced query by the caller's number")
  await signIn(page, ADMIN, ADMIN_PASSWORD)
  await nav(page, 'calls', 'calls-page')
  await page.locator(`[data-test=call-${call}]`).waitFor()
  const all = await totalShown(page)
  await query(page, call)
  await eventually('the query finds the one call', async () => (await totalShown(page)) < all || (await totalShown(page)))
  const total = await totalShown(page)
  const ids = await listedIds(page)
  if (total !== 1 || ids.join() !== call) fail(`the query shows ${total} calls: ${ids}`)
  ok(`the query narrows ${all} calls to call ${call}`)
  await page.click('[data-test=call-detail]')
  await expectText(page, '[data-test=detail-agent]', AGENT)
  await expectText(page, '[data-test=detail-result]', '已接通')
  for (const kind of ['进入排队', '分配坐席', '接听', '挂机']) await expectText(page, '[data-test=call-trail]', kind)
  await expectText(page, '[data-test=call-fields]', '主叫挂机')
  await playable(page, '[data-test=call-drawer]')
  await settled(page)
  await shot(page, 'callcenter-10-call-detail')
  await page.keyboard.press('Escape')

  step('the query exported to XLSX and CSV')
  const xlsx = await exportAs(page, 'xlsx', total)
  await shot(page, 'callcenter-11-exports')
  await nav(page, 'calls', 'calls-page')
  await query(page, call)
  await eventually('the same query again', async () => (await totalShown(page)) === total || (await totalShown(page)))
  const csv = await exportAs(page, 'csv', total)
  const rows = parseCsv(readFileSync(csv, 'utf8')).filter((r) => r.some((c) => c !== ''))
  const [head, ...body] = rows
  const col = (name) => {
    const i = head.indexOf(name)
    if (i < 0) fail(`the CSV has no column ${name}: ${head}`)
    return i
  }
  const want = (await api('GET', `/api/v1/calls?number=${CALLER}&direction=inbound&agent=${AGENT}&limit=100`)).json
  const wantIds = (want?.calls ?? []).map((c) => String(c.call))
  const gotIds = body.map((r) => r[col('通话ID')])
  if (gotIds.join() !== wantIds.join() || body.length !== total) fail(`the CSV's calls ${gotIds} are not the query's ${wantIds}`)
  const row = body[0]
  const cells = { 主叫号码: CALLER, 服务号码: SERVICE, 坐席工号: AGENT, 结果: '已接通', 技能组: GROUP, 挂机方: '主叫' }
  for (const [name, value] of Object.entries(cells))
    if (row[col(name)] !== value) fail(`the CSV's ${name} is ${row[col(name)]}, not ${value}`)
  ok(`the CSV holds the query's ${body.length} row(s), with the caller, the agent and the result`)

  step('English, and back to Chinese')
  await nav(page, 'calls', 'calls-page')
  await page.click('[data-test=lang-en]')
  await expectText(page, '[data-test=side-menu]', 'Call records')
  await expectText(page, '[data-test=side-menu]', 'Skill groups')
  await expectText(page, '[data-test=calls-page]', 'Export Excel')
  await expectText(page, '[data-test=shell]', 'Log out')
  await shot(page, 'callcenter-12-calls-en')
  await page.click('[data-test=lang-zh-CN]')
  await expectText(page, '[data-test=side-menu]', '通话记录')
  await expectText(page, '[data-test=calls-page]', '导出 Excel')
  ok('the menu and the page switch language and back')

  if (page.errors.length) fail(`errors on the page: ${page.errors.join(' | ')}`)
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify({ call: Number(call), total, xlsx, csv }))
  ok('summary written')
}

run(main)

// The screen pop and the customer pages in Debian's Chromium (tests/web_crm.rs
// starts the daemon, the softphone and the customer, and runs this). Talks to the
// test by files in SIGNAL_DIR: `ready` (the agent is signed in: call now) and
// `answer` (the pop is checked: answer on the softphone). Environment: lib.mjs's,
// and AGENT, AGENT_PASSWORD, ADMIN_USER, ADMIN_PASSWORD, CALLER, SERVICE, SIGNAL_DIR.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { api, choose, env, eventually, expectText, fail, field, launch, ok, run, shot, step, BASE } from './lib.mjs'

const AGENT = env('AGENT')
const PASSWORD = env('AGENT_PASSWORD')
const ADMIN = env('ADMIN_USER')
const ADMIN_PASSWORD = env('ADMIN_PASSWORD')
const CALLER = env('CALLER')
const SERVICE = env('SERVICE')
const SIGNALS = env('SIGNAL_DIR')
const CALL_MS = 30000

function say(name) {
  writeFileSync(join(SIGNALS, name), `${Date.now()}\n`)
  ok(`told the test: ${name}`)
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

async function main() {
  const page = await launch()
  // Every read of a pop: once per call state, not once per call bar poll.
  const pops = []
  page.on('request', (r) => {
    if (/\/api\/v1\/calls\/\d+\/pop$/.test(new URL(r.url()).pathname)) pops.push(Date.now())
  })

  step('the admin makes a ticket type on 工单类型')
  await signIn(page, ADMIN, ADMIN_PASSWORD)
  await page.click('[data-test=nav-ticket-types]')
  await expectText(page, '[data-test=ticket-types-page]', '工单类型')
  await page.click('[data-test=type-add]')
  await page.fill(field('type-name'), '报修')
  await page.click('[data-test=type-add-field]')
  await page.fill(field('type-field-name-0'), '订单号')
  await page.click('[data-test=type-field-required-0]')
  await page.click('[data-test=type-save]')
  await expectText(page, '.el-message--success', '工单类型已保存')
  await expectText(page, '[data-test=types-table]', '报修')
  await expectText(page, '[data-test=types-table]', '订单号')
  await shot(page, 'crm-01-ticket-types')
  await page.click('[data-test=shell-logout]')
  await page.waitForURL(/\/login$/)

  step('the agent signs in on the softphone')
  await signIn(page, AGENT, PASSWORD, 'softphone')
  await page.waitForURL(/\/workspace$/)
  await expectText(page, '[data-test=agent-state]', '空闲')
  await expectText(page, '[data-test=customer-panel]', '等待来电')
  say('ready')

  step('the call rings: the panel pops who is calling and from where')
  await expectText(page, '[data-test=call-state]', '振铃', CALL_MS)
  await expectText(page, '[data-test=pop-number]', CALLER)
  await expectText(page, '[data-test=pop-location]', '江苏省 镇江市 · 中国移动')
  await expectText(page, '[data-test=pop-service-number]', SERVICE)
  await expectText(page, '[data-test=pop-ivr]', '默认流程(按 1)→ 售前咨询')
  await expectText(page, '[data-test=pop-queue]', '售前咨询')
  await expectText(page, '[data-test=pop-known]', '新客户')
  ok('the pop shows 归属地, 服务号码 and the IVR path while it rings')
  // Typed while it rings; the pop is read again once answered, and must keep it.
  await page.fill(field('card-name'), '李先生')
  await shot(page, 'crm-02-pop-ringing')
  say('answer')
  await expectText(page, '[data-test=call-state]', '通话中', CALL_MS)
  await eventually('the pop is read again for the answered call', () => pops.length >= 2 || pops.length)

  step('the agent saves the customer card')
  if ((await page.inputValue(field('card-name'))) !== '李先生') fail('the name typed while ringing was lost')
  await page.fill(field('card-company'), '镇江某某电器')
  await page.fill(field('card-notes'), "'; DROP TABLE customers; --")
  await page.fill(field('card-tags'), '老客户')
  await page.keyboard.press('Enter')
  await page.click('[data-test=card-save]')
  await expectText(page, '.el-message--success', '客户资料已保存')
  await expectText(page, '[data-test=pop-name]', '李先生')
  await expectText(page, '[data-test=card-updated]', '最后修改')
  await shot(page, 'crm-03-card-saved')

  step('and a ticket of the admin\'s type')
  await page.click('#tab-ticket')
  await choose(page, 'ticket-type', '报修')
  await page.fill(field('ticket-title'), '空调不制冷')
  await page.fill(field('ticket-field-0'), 'SO-2026-001')
  await page.click('[data-test=priority-high]')
  await page.fill(field('ticket-description'), '客户反映空调开机十分钟后不制冷')
  await page.click('[data-test=ticket-submit]')
  await expectText(page, '.el-message--success', '已创建')
  await expectText(page, '[data-test=history-tickets]', '空调不制冷')
  await expectText(page, '[data-test=history-tickets]', '待处理')
  await expectText(page, '[data-test=pop-counts]', '未结工单 1 个')
  await shot(page, 'crm-04-history-tickets')

  step('the history tabs: calls and chats')
  await page.click('#tab-calls')
  await expectText(page, '[data-test=history-calls]', '呼入')
  await expectText(page, '[data-test=history-calls]', AGENT)
  await page.click('#tab-chats')
  await expectText(page, '[data-test=chats-empty]', '尚未开通')

  step('the customer hangs up: the pop stays')
  await expectText(page, '[data-test=no-call]', '无通话', CALL_MS)
  await expectText(page, '[data-test=pop-ended]', '通话已结束')
  await expectText(page, '[data-test=pop-number]', CALLER)
  await page.click('#tab-calls')
  await expectText(page, '[data-test=history-calls]', '已接通')
  await shot(page, 'crm-05-history-calls')

  step('the ticket page: the agent works on the ticket')
  await page.click('[data-test=nav-tickets]')
  await expectText(page, '[data-test=tickets-page]', '空调不制冷')
  await page.locator('[data-test=ticket-table] .el-table__row', { hasText: '空调不制冷' }).click()
  await choose(page, 'edit-status', '处理中')
  await page.click('[data-test=edit-save]')
  await expectText(page, '.el-message--success', '已更新')
  await expectText(page, '[data-test=ticket-table]', '处理中')
  await shot(page, 'crm-06-tickets-page')
  const r = await api('GET', `/api/v1/tickets?customer=${CALLER}`)
  if (r.json?.tickets?.[0]?.status !== 'processing') fail(`the ticket is not in progress: ${r.text}`)

  step('the admin finds the customer on 客户管理')
  await page.goto(BASE + '/workspace', { waitUntil: 'domcontentloaded' })
  await page.click('[data-test=avatar]')
  await page.click('[data-test=menu-logout]')
  await page.waitForURL(/\/login$/)
  await signIn(page, ADMIN, ADMIN_PASSWORD)
  await page.click('[data-test=nav-customers]')
  await page.fill(field('customers-q'), '镇江')
  await page.click('[data-test=customers-search]')
  await expectText(page, '[data-test=customers-table]', '李先生')
  await expectText(page, '[data-test=customers-table]', CALLER)
  await eventually('the search found one customer', async () => (await page.locator('[data-test=customers-table] .el-table__row').count()) === 1)
  await shot(page, 'crm-07-customers')

  // ringing, talking, wrap-up and the end: a handful, where polling would be dozens.
  if (pops.length > 8) fail(`the pop was read ${pops.length} times for one call`)
  ok(`the pop was read ${pops.length} times for one call`)
  if (page.errors.length) fail(`errors on the page: ${page.errors.join('; ')}`)
  ok('no script errors on the page')
}

await run(main)

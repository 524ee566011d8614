// The live pages in Debian's Chromium (tests/web_live.rs seeds the call center, makes
// one abandoned queue call and runs this): the supervisor's wallboard follows an
// agent's state change without a reload; the agent's workspace changes state from
// an event and does not poll its call bar while the stream is open; the status log
// filters; the why page explains an agent and a call. Screenshots of each page.
// Environment: lib.mjs's, and SUPERVISOR, AGENT, OTHER (a busy agent), PASSWORD, CALL.
import { api, choose, env, eventually, expectText, fail, field, launch, newContext, ok, run, shot, step, text, BASE } from './lib.mjs'

const SUPERVISOR = env('SUPERVISOR')
const AGENT = env('AGENT')
const OTHER = env('OTHER')
const PASSWORD = env('PASSWORD')
const CALL = env('CALL')

async function signIn(page, user, mode) {
  await page.goto(BASE + '/login', { waitUntil: 'domcontentloaded' })
  await page.fill(field('login-user'), user)
  await page.fill(field('login-password'), PASSWORD)
  await page.click(`[data-test=mode-${mode}]`)
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/workspace$/)
}

async function liveOpen(page) {
  await eventually('the page is fed live', async () => {
    const state = await page.getAttribute('[data-test=live-state]', 'data-state')
    return state === 'open' || state
  })
}

async function main() {
  const boss = await launch()
  const errors = boss.errors

  step('the supervisor opens the wallboard')
  await signIn(boss, SUPERVISOR, 'direct')
  await boss.click('[data-test=nav-wallboard]')
  await boss.waitForURL(/\/monitor\/wallboard$/)
  await expectText(boss, '[data-test=wallboard]', '实时监控大屏')
  await liveOpen(boss)
  await expectText(boss, `[data-test=wb-agent-${AGENT}]`, '签出')
  await expectText(boss, `[data-test=wb-agent-${OTHER}]`, '忙碌')
  await expectText(boss, '[data-test=wb-queues]', '售前')
  await expectText(boss, '[data-test=wb-abandoned]', '1')
  const idleBefore = Number(await text(boss, '[data-test=wb-count-idle] b'))
  if (!(await boss.locator('[data-test=wb-chart-states] canvas').count())) fail('the agents-by-state chart has no canvas')
  ok('the wallboard shows the agents by state, the queue and today\'s abandoned call')
  await shot(boss, 'live-01-wallboard')

  step('an agent logs in through the API: the wallboard follows without a reload')
  const navigations = []
  boss.on('framenavigated', (f) => f === boss.mainFrame() && navigations.push(f.url()))
  const started = Date.now()
  const login = await api('POST', `/api/v1/agents/${AGENT}/login`, { mode: 'direct' })
  if (login.status !== 200) fail(`login ${AGENT}: ${login.status} ${login.text}`)
  await expectText(boss, `[data-test=wb-agent-${AGENT}]`, '空闲', 3000)
  ok(`the wallboard showed ${AGENT} idle ${Date.now() - started} ms after the change`)
  await eventually('the idle count went up', async () => {
    const n = Number(await text(boss, '[data-test=wb-count-idle] b'))
    return n === idleBefore + 1 || n
  })
  if (navigations.length) fail(`the wallboard reloaded: ${navigations.join(', ')}`)
  await shot(boss, 'live-02-wallboard-updated')

  step('the agent\'s workspace is fed by the stream')
  const ctx = await newContext()
  const agent = await ctx.newPage()
  agent.on('pageerror', (e) => errors.push(e.message))
  const callPolls = []
  agent.on('request', (r) => {
    if (new URL(r.url()).pathname === `/api/v1/agents/${AGENT}/call`) callPolls.push(Date.now())
  })
  await signIn(agent, AGENT, 'direct')
  await expectText(agent, '[data-test=agent-state]', '空闲')
  await liveOpen(agent)
  const openedAt = Date.now()
  const before = callPolls.length
  const rest = Date.now()
  const r = await api('POST', `/api/v1/agents/${AGENT}/state`, { state: 'rest' })
  if (r.status !== 200) fail(`rest: ${r.status} ${r.text}`)
  await expectText(agent, '[data-test=agent-state]', '小休', 2500)
  ok(`the header said 小休 ${Date.now() - rest} ms after the change`)
  await expectText(boss, `[data-test=wb-agent-${AGENT}]`, '小休', 2500)
  const secs = (s) => s.split(':').reduce((acc, part) => acc * 60 + Number(part), 0)
  if (secs(await text(agent, '[data-test=state-timer]')) > 3) fail('the state timer did not restart')
  // Three seconds more with the stream open: not one poll of the call bar.
  await agent.waitForTimeout(3000)
  const polled = callPolls.filter((t) => t > openedAt).length
  if (callPolls.length !== before || polled) fail(`the call bar polled ${polled} time(s) while the stream was open`)
  ok(`no GET /call while the stream was open (${((Date.now() - openedAt) / 1000).toFixed(1)} s)`)
  await expectText(agent, '[data-test=no-call]', '无通话')
  await shot(agent, 'live-03-workspace-rest')

  step('the agent sets idle from the page; the wallboard follows')
  await agent.click('[data-test=set-idle]')
  await expectText(agent, '[data-test=agent-state]', '空闲')
  await expectText(boss, `[data-test=wb-agent-${AGENT}]`, '空闲', 3000)

  step('the status log filters by agent and state')
  await boss.click('[data-test=nav-status-log]')
  await boss.waitForURL(/\/monitor\/status-log/)
  await expectText(boss, '[data-test=status-log]', '坐席状态日志')
  await boss.fill(field('sl-agent'), AGENT)
  await choose(boss, 'sl-state', '小休')
  await boss.click('[data-test=sl-search]')
  await eventually('only rest rows of the agent', async () => {
    const rows = await boss.locator('[data-test=sl-table] .el-table__body tr').allInnerTexts()
    const good = rows.length > 0 && rows.every((r) => r.includes(AGENT) && r.includes('小休'))
    const tos = await boss.locator('[data-test=sl-table] [data-to]').evaluateAll((els) => els.map((e) => e.dataset.to))
    return (good && tos.length > 0 && tos.every((t) => t === 'rest')) || { rows, tos }
  })
  ok('the status log shows only the agent\'s changes to 小休')
  await shot(boss, 'live-04-status-log')
  await boss.click('[data-test=sl-reset]')
  await eventually('every state again', async () => {
    const tos = await boss.locator('[data-test=sl-table] [data-to]').evaluateAll((els) => els.map((e) => e.dataset.to))
    return (tos.includes('idle') && tos.includes('rest') && tos.includes('busy')) || tos
  })

  step('the why page explains an agent')
  await boss.goto(`${BASE}/monitor/why?agent=${OTHER}`, { waitUntil: 'domcontentloaded' })
  await expectText(boss, '[data-test=why-verdicts]', '售前')
  await expectText(boss, '[data-test=why-verdicts]', '不会接到来电')
  await expectText(boss, '[data-test=why-verdicts]', '忙碌(')
  ok(`the why of ${OTHER} says, in Chinese, that a busy agent gets no calls`)
  await shot(boss, 'live-05-why-agent')

  step('the why page explains a call')
  await boss.click('#tab-call')
  await boss.fill(field('why-call'), CALL)
  await boss.click('[data-test=why-call-ask]')
  await expectText(boss, '[data-test=why-call-answer]', '售前')
  await expectText(boss, '[data-test=why-answered-by]', '无人接听')
  await expectText(boss, `[data-test=why-not-${OTHER}]`, '忙碌')
  await expectText(boss, '[data-test=why-not-offered]', '从未签入')
  await expectText(boss, '[data-test=why-trail]', '放弃')
  await expectText(boss, '[data-test=why-summary]', '没有被分配')
  ok('the why of the call names who was not offered it and why')
  await shot(boss, 'live-06-why-call')

  if (errors.length) fail(`errors on the pages: ${errors.join('; ')}`)
  ok('no script errors on the pages')
}

await run(main)

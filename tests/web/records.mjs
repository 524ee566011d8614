// Calls after the fact in Debian's Chromium (tests/web_records.rs starts the daemon,
// places a real recorded call and runs this): an agent's 我的通话 shows and plays the
// call; an admin's 通话记录 finds it with filters and shows its trail; exports to
// XLSX and CSV finish and are downloaded; 未接来电 gives reasons, call back and
// handled; a look in English. Screenshots under target/web-screenshots/records-*.
// Environment: lib.mjs's, and AGENT, AGENT_PASSWORD, ADMIN, ADMIN_PASSWORD, CALL
// (the real call's id), OUT (where downloads and summary.json go).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { api, choose, env, eventually, expectText, fail, field, launch, newContext, ok, run, shot, step, BASE } from './lib.mjs'

const AGENT = env('AGENT')
const AGENT_PASSWORD = env('AGENT_PASSWORD')
const ADMIN = env('ADMIN')
const ADMIN_PASSWORD = env('ADMIN_PASSWORD')
const CALL = env('CALL')
const OUT = env('OUT')

async function signIn(page, user, password) {
  await page.goto(BASE + '/login', { waitUntil: 'domcontentloaded' })
  await page.fill(field('login-user'), user)
  await page.fill(field('login-password'), password)
  await page.click('[data-test=login-submit]')
  await page.waitForURL((u) => !u.pathname.endsWith('/login'))
}

/** Waits until the page's visible <audio> has data to play and a duration. */
async function playable(page, scope) {
  await eventually(
    `the recording in ${scope} plays`,
    async () => {
      const s = await page.evaluate((sel) => {
        const a = document.querySelector(`${sel} audio`)
        if (!a) return 'no <audio>'
        return { ready: a.readyState, duration: a.duration, error: a.error?.code ?? null }
      }, scope)
      return (s.ready >= 2 && s.duration > 1) || s
    },
    15000,
  )
  ok(`the <audio> in ${scope} has data and a duration`)
}

/** Waits until the page's CSS transitions and animations (a dialog's fade) end. */
async function settled(page) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, {
    timeout: 5000,
  })
}

/** The number in "共 N 条" (or "N in all"). */
async function totalShown(page) {
  const text = await page.locator('[data-test=calls-total]').innerText()
  const n = Number(text.match(/\d+/)?.[0])
  if (!Number.isFinite(n)) fail(`no total in ${text}`)
  return n
}

async function waitDone(page, id) {
  await eventually(
    `export ${id} is done`,
    async () => (await page.getAttribute(`[data-test=export-state-${id}]`, 'data-state')) === 'done' ||
      (await page.getAttribute(`[data-test=export-state-${id}]`, 'data-state')),
    30000,
  )
}

/** Exports what the calls page's filters find; the task id (from the URL). */
async function exportFrom(page, button) {
  await page.click(`[data-test=${button}]`)
  await page.waitForURL(/\/exports\?task=\d+/)
  return new URL(page.url()).searchParams.get('task')
}

async function download(page, id, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-test=export-download-${id}]`)])
  const path = join(OUT, name)
  await dl.saveAs(path)
  return { path, suggested: dl.suggestedFilename() }
}

async function main() {
  const page = await launch()

  step("the agent's 我的通话")
  await signIn(page, AGENT, AGENT_PASSWORD)
  await page.click('[data-test=nav-my-calls]')
  await page.waitForURL(/\/calls\/mine$/)
  await expectText(page, '[data-test=my-calls-page]', '我的通话')
  await page.locator(`[data-test=call-${CALL}]`).waitFor()
  const rows = await page.locator('[data-test=calls-table] .el-table__body tr').count()
  if (rows !== 1) fail(`today's calls of ${AGENT} should be the one real call, not ${rows} rows`)
  await expectText(page, '[data-test=calls-table]', '已接通')
  ok('today by default: the recorded call is there, answered')
  await page.click('[data-test=call-play]')
  await playable(page, '[data-test=now-playing]')
  await shot(page, 'records-01-my-calls')

  step('the agent opens the detail')
  await page.click('[data-test=call-detail]')
  await expectText(page, '[data-test=call-trail]', '进入排队')
  await expectText(page, '[data-test=call-trail]', '接听')
  await page.keyboard.press('Escape')
  const other = await api('GET', '/api/v1/calls?limit=1&direction=outbound')
  const foreign = other.json?.calls?.[0]?.call
  if (!foreign) fail('no seeded call of another agent')
  const peek = await page.evaluate(async (id) => (await fetch(`/api/v1/calls/${id}/recording`)).status, foreign)
  if (peek !== 403) fail(`the agent's session fetched another agent's recording: ${peek}`)
  ok("another agent's recording is 403 from the agent's session")

  step("the admin's 通话记录")
  const ctx = await newContext()
  const admin = await ctx.newPage()
  admin.errors = []
  admin.on('pageerror', (e) => admin.errors.push(e.message))
  await signIn(admin, ADMIN, ADMIN_PASSWORD)
  await admin.click('[data-test=nav-calls]')
  await admin.waitForURL(/\/calls$/)
  await admin.locator(`[data-test=call-${CALL}]`).waitFor()
  const all = await totalShown(admin)
  await admin.fill(field('filter-number'), 'carr')
  await choose(admin, 'filter-direction', '呼入')
  await choose(admin, 'filter-result', '已接通')
  await choose(admin, 'filter-agent', AGENT)
  await choose(admin, 'filter-recorded', '有录音')
  await admin.click('[data-test=filter-search]')
  await eventually('the filters narrow to the one call', async () => (await totalShown(admin)) === 1 || (await totalShown(admin)))
  await admin.locator(`[data-test=call-${CALL}]`).waitFor()
  ok(`filters narrow ${all} calls to the recorded one`)
  await admin.click('[data-test=call-detail]')
  await expectText(admin, '[data-test=call-trail]', '进入排队')
  await expectText(admin, '[data-test=call-trail]', '分配坐席')
  await expectText(admin, '[data-test=detail-agent]', AGENT)
  await playable(admin, '[data-test=call-drawer]')
  await settled(admin)
  await shot(admin, 'records-02-calls-detail')
  await admin.keyboard.press('Escape')

  step('export the inbound calls to XLSX and CSV')
  await admin.click('[data-test=filter-reset]')
  await choose(admin, 'filter-direction', '呼入')
  await admin.click('[data-test=filter-search]')
  await eventually('the inbound calls are listed', async () => (await totalShown(admin)) < all || (await totalShown(admin)))
  const inbound = await totalShown(admin)
  await shot(admin, 'records-03-calls-inbound')
  const xlsxTask = await exportFrom(admin, 'export-xlsx')
  await waitDone(admin, xlsxTask)
  const xlsxRows = Number(await admin.locator(`[data-test=export-rows-${xlsxTask}]`).innerText())
  if (xlsxRows !== inbound) fail(`the XLSX export has ${xlsxRows} rows, the query ${inbound}`)
  const xlsx = await download(admin, xlsxTask, 'export.xlsx')
  if (!/^通话记录-\d{4}-\d{2}-\d{2}\.xlsx$/.test(xlsx.suggested)) fail(`the XLSX is named ${xlsx.suggested}`)
  ok(`XLSX export ${xlsxTask}: ${xlsxRows} rows, downloaded as ${xlsx.suggested}`)
  await shot(admin, 'records-04-exports')

  await admin.click('[data-test=nav-calls]')
  await choose(admin, 'filter-direction', '呼入')
  await admin.click('[data-test=filter-search]')
  await eventually('the inbound calls again', async () => (await totalShown(admin)) === inbound || (await totalShown(admin)))
  const csvTask = await exportFrom(admin, 'export-csv')
  await waitDone(admin, csvTask)
  const csv = await download(admin, csvTask, 'export.csv')
  if (!/^通话记录-.*\.csv$/.test(csv.suggested)) fail(`the CSV is named ${csv.suggested}`)
  ok(`CSV export ${csvTask} downloaded as ${csv.suggested}`)

  step('未接来电: reasons, call back, handled')
  await admin.click('[data-test=nav-missed-calls]')
  await admin.waitForURL(/\/calls\/missed$/)
  await expectText(admin, '[data-test=calls-table]', '排队中放弃')
  await expectText(admin, '[data-test=calls-table]', '无坐席接听')
  const missed = await totalShown(admin)
  await shot(admin, 'records-05-missed')
  await admin.locator('[data-test=missed-callback]:visible').first().click()
  await expectText(admin, '[data-test=callback-no-agent]', '未绑定坐席工号')
  await settled(admin)
  await shot(admin, 'records-06-callback')
  await admin.locator('[data-test=callback-dialog] .el-dialog__headerbtn').click()
  await admin.locator('[data-test=missed-handle]:visible').first().click()
  await admin.fill(field('handled-note'), '已回拨,客户问题已解决')
  await admin.click('[data-test=handled-confirm]')
  await expectText(admin, '[data-test=calls-table]', '已处理')
  await choose(admin, 'filter-handled', '未处理')
  await admin.click('[data-test=filter-search]')
  await eventually('one fewer open missed call', async () => (await totalShown(admin)) === missed - 1 || (await totalShown(admin)))
  await admin.locator('[data-test=call-detail]:visible').first().click()
  await admin.locator('[data-test=detail-reason]').waitFor()
  await shot(admin, 'records-07-missed-detail')
  await admin.keyboard.press('Escape')
  ok('missed calls: reasons shown, call back explains the missing agent number, handled marked')

  step('a look in English')
  await admin.click('[data-test=lang-en]')
  await admin.click('[data-test=nav-calls]')
  await expectText(admin, '[data-test=side-menu]', 'Call records')
  await expectText(admin, '[data-test=calls-table]', 'Started')
  await expectText(admin, '[data-test=calls-page]', 'Export Excel')
  await shot(admin, 'records-08-calls-en')
  await admin.click('[data-test=lang-zh-CN]')

  for (const [who, p] of [['agent', page], ['admin', admin]])
    if (p.errors.length) fail(`errors on the ${who}'s page: ${p.errors.join(' | ')}`)
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify({ inbound, xlsx: xlsx.path, csv: csv.path }))
  ok('summary written')
}

run(main)

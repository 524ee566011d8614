// The admin console's staff pages in Debian's Chromium (tests/web_staff.rs starts the
// daemon with the demo call center and an admin, and runs this through
// tests/common/browser.rs). In Chinese: the admin signs in, creates a skill group, a
// phone and an agent in that group on that phone with a softphone login, sees them
// listed, edits a busy reason and looks at the users; then the new agent signs in on
// the login page with 软电话 and lands in the workspace. A screenshot of each page.
// Environment: lib.mjs's, and ADMIN_USER, ADMIN_PASSWORD.
import { api, choose, env, eventually, expectText, fail, field, launch, ok, run, shot, step, BASE } from './lib.mjs'

const ADMIN = env('ADMIN_USER')
const ADMIN_PASSWORD = env('ADMIN_PASSWORD')
const GROUP = '测试技能组'
const AGENT = '8601'
const AGENT_PASSWORD = 'agent-pass-8601'

async function open(page, path, testId) {
  await page.goto(BASE + path, { waitUntil: 'domcontentloaded' })
  await page.locator(`[data-test=${testId}]`).waitFor()
}

async function main() {
  const page = await launch()

  step('the admin signs in')
  await page.goto(BASE + '/login', { waitUntil: 'domcontentloaded' })
  await page.fill(field('login-user'), ADMIN)
  await page.fill(field('login-password'), ADMIN_PASSWORD)
  await page.click('[data-test=login-submit]')
  await page.locator('[data-test=side-menu]').waitFor()
  await expectText(page, '[data-test=side-menu]', '坐席管理')
  await expectText(page, '[data-test=side-menu]', '技能组')
  await expectText(page, '[data-test=side-menu]', '忙碌原因')
  ok('the console menu shows the staff pages in Chinese')

  step('a skill group, from the 技能组 page')
  await page.click('[data-test=nav-staff-groups]')
  await page.locator('[data-test=staff-groups-page]').waitFor()
  await expectText(page, '[data-test=groups-table]', '售前咨询')
  await page.click('[data-test=group-add]')
  await page.fill(field('group-name'), GROUP)
  await choose(page, 'group-strategy', '轮询')
  await page.fill(field('group-ring'), '15')
  await page.click('[data-test=group-leave-empty]')
  await shot(page, 'staff-01-group-form')
  await page.click('[data-test=group-save]')
  await expectText(page, '.el-message--success', '已保存')
  await expectText(page, '[data-test=groups-table]', GROUP)
  await expectText(page, '[data-test=groups-table]', '轮询')
  await shot(page, 'staff-02-groups')

  step('a phone, from the 话机管理 page')
  await open(page, '/console/devices', 'staff-devices-page')
  await expectText(page, '[data-test=devices-table]', '1001')
  await page.click('[data-test=device-add]')
  await page.fill(field('device-user'), '2601')
  await page.fill(field('device-password'), 'desk-pass-2601')
  await page.fill(field('device-name'), '测试话机')
  await page.click('[data-test=device-save]')
  await expectText(page, '[data-test=devices-table]', '测试话机')
  await expectText(page, '[data-test=device-reg-2601]', '未注册')
  await shot(page, 'staff-03-devices')

  step('an agent in that group on that phone, from the 坐席管理 page')
  await open(page, '/console/agents', 'staff-agents-page')
  await expectText(page, '[data-test=agents-table]', '张三')
  await page.click('[data-test=agent-add]')
  await page.locator('[data-test=agent-form]').waitFor()
  await page.fill(field('agent-number'), AGENT)
  await page.fill(field('agent-name'), '测试坐席')
  await page.fill(field('agent-web-password'), AGENT_PASSWORD)
  await page.fill(field('agent-direct'), '13912345678')
  await page.click('[data-test=agent-mode-softphone]')
  await choose(page, 'agent-desk', '2601')
  await choose(page, 'agent-softphone', '新建软电话账号')
  await page.fill(field('agent-sip-password'), 'soft-pass-8601')
  await page.click('[data-test=agent-group-add]')
  await choose(page, 'agent-group-pick-0', GROUP)
  await shot(page, 'staff-04-agent-form')
  await page.click('[data-test=agent-save]')
  await expectText(page, '.el-message--success', '已保存')
  await expectText(page, '[data-test=agents-table]', '测试坐席')
  await expectText(page, '[data-test=agents-table]', GROUP)
  await expectText(page, '[data-test=agents-table]', '13912345678')
  const me = await api('GET', `/api/v1/staff/agents/${AGENT}`)
  if (me.status !== 200) fail(`the agent is not kept: ${me.status} ${me.text}`)
  if (me.json.bound_device?.user !== '2601' || me.json.softphone_device?.user !== AGENT || me.json.answer_mode !== 'softphone')
    fail(`the agent's phones and mode: ${me.text}`)
  if (me.json.groups?.[0]?.name !== GROUP) fail(`the agent's group: ${me.text}`)
  await shot(page, 'staff-05-agents')

  step('the group lists its new member')
  await open(page, '/console/groups', 'staff-groups-page')
  await expectText(page, '[data-test=groups-table]', `${AGENT} 测试坐席`)

  step('a busy reason edited, from the 忙碌原因 page')
  await open(page, '/console/busy-reasons', 'staff-reasons-page')
  await eventually('the reasons are listed', async () => (await page.inputValue(field('reason-text-0'))) !== '' || 'empty')
  await page.fill(field('reason-text-0'), '部门会议')
  await page.fill(field('reason-new'), '外出')
  await page.click('[data-test=reason-add]')
  await page.click('[data-test=reason-up-1]')
  await page.click('[data-test=reasons-save]')
  await expectText(page, '.el-message--success', '已保存')
  await eventually('the daemon keeps the edited reasons', async () => {
    const r = await api('GET', '/api/v1/busy-reasons')
    const got = r.json?.reasons ?? []
    return (got[1] === '部门会议' && got.at(-1) === '外出') || got
  })
  await shot(page, 'staff-06-busy-reasons')

  step('the users page')
  await open(page, '/console/users', 'staff-users-page')
  await expectText(page, '[data-test=users-table]', ADMIN)
  await expectText(page, '[data-test=users-table]', '管理员')
  await shot(page, 'staff-07-users')

  step('the admin signs out; the new agent signs in with 软电话')
  await page.click('[data-test=shell-logout]')
  await page.waitForURL(/\/login$/)
  await page.fill(field('login-user'), AGENT)
  await page.fill(field('login-password'), AGENT_PASSWORD)
  await page.click('[data-test=mode-softphone]')
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/workspace$/)
  await expectText(page, '[data-test=agent-mode]', '软电话')
  await expectText(page, '[data-test=agent-state]', '空闲')
  await expectText(page, '[data-test=agent-direct]', '13912345678')
  await shot(page, 'staff-08-workspace')
  const state = await api('GET', '/api/v1/agents')
  const row = (state.json ?? []).find((a) => a.number === AGENT)
  if (row?.state !== 'idle' || row?.mode !== 'softphone') fail(`the ACD has the agent as ${JSON.stringify(row)}`)
  ok('the new agent is idle in the softphone mode')

  if (page.errors.length) fail(`errors on the page: ${page.errors.join(' | ')}`)
}

run(main)

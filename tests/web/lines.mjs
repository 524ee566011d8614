// The admin console's lines pages in Debian's Chromium (tests/web_lines.rs starts the
// daemon with the demo call center and an admin, and runs this through
// tests/common/browser.rs). In Chinese: the admin adds a trunk; builds a new IVR flow
// in the editor (a menu whose two keys lead to a queue and a goodbye), first saving it
// unfinished to see the node the daemon refuses marked; adds a service number through
// that trunk to that flow; uploads a prompt (a new one, and over a built-in one, then
// back to the default) and sees its length; gives the flow business hours and changes
// them; and saves the demo flow from the editor unchanged. A screenshot of each page.
// Environment: lib.mjs's, and ADMIN_USER, ADMIN_PASSWORD, PROMPT_WAV (a 2 s WAV).
import { api, choose, env, eventually, expectText, fail, field, launch, ok, run, shot, step, BASE } from './lib.mjs'

const ADMIN = env('ADMIN_USER')
const ADMIN_PASSWORD = env('ADMIN_PASSWORD')
const WAV = env('PROMPT_WAV')
const TRUNK = '测试中继'
const FLOW = '测试菜单'
const NUMBER = '4008007777'

async function open(page, path, testId) {
  await page.goto(BASE + path, { waitUntil: 'domcontentloaded' })
  await page.locator(`[data-test=${testId}]`).waitFor()
}

/** No select's dropdown is open (one closing still holds the same options). */
async function dropdownsClosed(page) {
  await eventually('the dropdown closes', async () => (await page.locator('.el-select-dropdown:visible').count()) === 0 || 'open')
}

/** Picks `label` in the el-select `name` and waits for its dropdown to close. */
async function pick(page, name, label) {
  await choose(page, name, label)
  await dropdownsClosed(page)
}

/** Picks `labels` in a multiple el-select, then closes its dropdown. */
async function chooseMany(page, name, labels) {
  for (const label of labels) await choose(page, name, label)
  await page.keyboard.press('Escape')
  await dropdownsClosed(page)
}

async function main() {
  const page = await launch()

  step('the admin signs in')
  await page.goto(BASE + '/login', { waitUntil: 'domcontentloaded' })
  await page.fill(field('login-user'), ADMIN)
  await page.fill(field('login-password'), ADMIN_PASSWORD)
  await page.click('[data-test=login-submit]')
  await page.locator('[data-test=side-menu]').waitFor()
  for (const word of ['中继管理', '服务号码', 'IVR 流程', '语音文件', '营业时间'])
    await expectText(page, '[data-test=side-menu]', word)
  ok('the console menu shows the lines pages in Chinese')

  step('a trunk, from the 中继管理 page')
  await page.click('[data-test=nav-lines-trunks]')
  await page.locator('[data-test=lines-trunks-page]').waitFor()
  await expectText(page, '[data-test=trunks-table]', 'demo carrier')
  await page.click('[data-test=trunk-add]')
  await page.fill(field('trunk-name'), TRUNK)
  await page.fill(field('trunk-host'), 'bad host')
  await page.click('[data-test=trunk-save]')
  await expectText(page, '.el-message--error', '对端地址')
  ok('a bad address is refused, naming the field in Chinese')
  await page.fill(field('trunk-host'), '192.0.2.77:5060')
  await page.fill(field('trunk-peers'), '192.0.2.77, 192.0.2.78')
  await page.fill(field('trunk-caller-id'), '02188886666')
  await page.click('[data-test=trunk-register]')
  await page.fill(field('trunk-register-user'), '02188886666')
  await page.fill(field('trunk-register-password'), 'carrier-pass')
  await shot(page, 'lines-01-trunk-form')
  await page.click('[data-test=trunk-save]')
  await expectText(page, '.el-message--success', '已保存')
  await expectText(page, '[data-test=trunks-table]', TRUNK)
  await expectText(page, '[data-test=trunks-table]', '状态未知')
  await expectText(page, '[data-test=trunks-table]', '4008001234')
  await shot(page, 'lines-02-trunks')
  const trunks = (await api('GET', '/api/v1/trunks')).json
  const trunk = trunks.find((t) => t.name === TRUNK)
  if (!trunk || trunk.inbound_peers.length !== 2 || trunk.register_user !== '02188886666' || !trunk.register_password_set)
    fail(`the trunk is not kept as entered: ${JSON.stringify(trunk)}`)

  step('a new flow in the IVR editor: a menu with two keys')
  await open(page, '/console/flows', 'lines-flows-page')
  await expectText(page, '[data-test=flows-table]', '默认流程')
  await page.click('[data-test=flow-add]')
  await page.locator('[data-test=lines-flow-editor]').waitFor()
  await page.fill(field('flow-name'), FLOW)
  await chooseMany(page, 'node-0-prompts', ['welcome_menu'])
  await pick(page, 'node-kind', '进入技能组')
  await page.click('[data-test=node-add]')
  await pick(page, 'node-1-group', '售后服务')
  await pick(page, 'node-kind', '挂机')
  await page.click('[data-test=node-add]')
  await chooseMany(page, 'node-2-prompts', ['goodbye'])
  await page.click('[data-test=node-0-choice-add]')
  await page.click('[data-test=node-0-choice-add]')
  await pick(page, 'node-0-choice-1-key', '2')

  step('saved unfinished, the daemon names the node at fault')
  await page.click('[data-test=flow-save]')
  await expectText(page, '[data-test=node-0-error]', 'node 1')
  await shot(page, 'lines-03-flow-refused')
  ok('the menu without targets is marked with the daemon\'s words')

  step('the keys get their targets and the flow saves')
  await pick(page, 'node-0-choice-0-next', '#2')
  await pick(page, 'node-0-choice-1-next', '#3')
  await page.click('[data-test=flow-save]')
  await expectText(page, '.el-message--success', '已保存')
  await page.waitForURL(/\/console\/flows\/\d+$/)
  if ((await page.locator('[data-test=node-0-error]').count()) !== 0) fail('the error is still shown')
  await shot(page, 'lines-04-flow-editor')
  const flows = (await api('GET', '/api/v1/flows')).json
  const made = flows.find((f) => f.name === FLOW)
  if (!made) fail(`the flow is not kept: ${JSON.stringify(flows)}`)
  const whole = (await api('GET', `/api/v1/flows/${made.id}`)).json
  const menu = whole.nodes.find((n) => n.id === whole.start)
  const keys = (menu?.choices ?? []).map((c) => `${c.key}→${c.next}`).join(' ')
  if (menu?.type !== 'menu' || keys !== '1→2 2→3' || menu.prompts[0] !== 'welcome_menu')
    fail(`the menu is not as built: ${JSON.stringify(whole)}`)
  if (whole.nodes.find((n) => n.id === 2)?.type !== 'queue') fail(`node 2: ${JSON.stringify(whole)}`)

  step('a service number through the new trunk into the new flow')
  await open(page, '/console/numbers', 'lines-numbers-page')
  await expectText(page, '[data-test=numbers-table]', '4008001234')
  await page.click('[data-test=number-add]')
  await page.fill(field('number-number'), NUMBER)
  await pick(page, 'number-trunk', TRUNK)
  await pick(page, 'number-flow', FLOW)
  await pick(page, 'number-group', '售前咨询')
  await page.fill(field('number-priority'), '5')
  await shot(page, 'lines-05-number-form')
  await page.click('[data-test=number-save]')
  await expectText(page, '.el-message--success', '已保存')
  await expectText(page, `[data-test=number-route-${NUMBER}]`, `IVR 流程:${FLOW}`)
  await shot(page, 'lines-06-numbers')
  const number = (await api('GET', `/api/v1/service-numbers/${NUMBER}`)).json
  if (number?.flow_id !== made.id || number?.trunk_name !== TRUNK || number?.priority !== 5)
    fail(`the number is not kept as entered: ${JSON.stringify(number)}`)

  step('prompts: a new one uploaded through the page')
  await open(page, '/console/prompts', 'lines-prompts-page')
  await expectText(page, '[data-test=prompts-table]', '您好,欢迎致电')
  await expectText(page, '[data-test=prompt-source-welcome_menu]', '系统默认')
  await page.click('[data-test=prompt-add]')
  await page.fill(field('prompt-new-name'), 'test_notice')
  await page.setInputFiles('[data-test=prompt-new-file]', WAV)
  await page.click('[data-test=prompt-new-save]')
  await expectText(page, '.el-message--success', '已上传')
  await expectText(page, '[data-test=prompt-seconds-test_notice]', '2.0 秒')
  await expectText(page, '[data-test=prompt-source-test_notice]', '已上传')

  step('prompts: the built-in welcome replaced, heard, and back to the default')
  const chooser = page.waitForEvent('filechooser')
  await page.click('[data-test=prompt-upload-welcome_menu]')
  await (await chooser).setFiles(WAV)
  await expectText(page, '[data-test=prompt-source-welcome_menu]', '已上传')
  await expectText(page, '[data-test=prompt-seconds-welcome_menu]', '2.0 秒')
  const src = await page.getAttribute('[data-test=prompt-audio-welcome_menu]', 'src')
  const heard = await page.evaluate(async (s) => {
    const r = await fetch(s)
    return `${r.status} ${r.headers.get('content-type')} ${(await r.arrayBuffer()).byteLength}`
  }, src)
  if (!heard.startsWith('200 audio/wav ')) fail(`the player's source: ${src} → ${heard}`)
  await shot(page, 'lines-07-prompts')
  await page.click('[data-test=prompt-reset-welcome_menu]')
  await page.click('.el-message-box__btns .el-button--primary')
  await expectText(page, '[data-test=prompt-source-welcome_menu]', '系统默认')
  ok(`the player plays what was uploaded (${heard}); reset brings the built-in one back`)

  step('business hours for the new flow, changed on the 营业时间 page')
  await open(page, '/console/hours', 'lines-hours-page')
  await page.locator('[data-test=hours-empty]').waitFor()
  await pick(page, 'hours-add-flow', FLOW)
  await page.click('[data-test=hours-add]')
  await expectText(page, '.el-message--success', '已保存')
  const entry = (await api('GET', '/api/v1/hours')).json.hours.find((h) => h.flow_id === made.id)
  if (!entry || entry.open !== 1) fail(`the hours go in front of the menu: ${JSON.stringify(entry)}`)
  const key = `hours-${made.id}-${entry.node}`
  await page.locator(`[data-test=${key}]`).waitFor()
  await page.fill(field(`${key}-Mon-0-from`), '08:30')
  await page.click(`[data-test=${key}-Sat-add]`)
  await page.fill(field(`${key}-Sat-0-from`), '10:00')
  await page.fill(field(`${key}-Sat-0-to`), '16:00')
  await page.click(`[data-test=${key}-Sun-add]`)
  await page.fill(field(`${key}-Sun-0-from`), '17:00')
  await page.fill(field(`${key}-Sun-0-to`), '11:00')
  await page.click(`[data-test=${key}-save]`)
  await expectText(page, '.el-message--error', '周日')
  ok('a range that ends before it starts is refused, naming the day')
  await page.click(`[data-test=${key}-Sun-0-remove]`)
  await page.click(`[data-test=${key}-save]`)
  await expectText(page, '.el-message--success', '已保存')
  await eventually('the daemon keeps the new hours', async () => {
    const h = (await api('GET', '/api/v1/hours')).json.hours.find((x) => x.flow_id === made.id)
    const mon = h?.schedule.find((s) => s.day === 'Mon')
    const sat = h?.schedule.find((s) => s.day === 'Sat')
    return (mon?.from === 510 && sat?.from === 600 && sat?.to === 960 && !h.schedule.some((s) => s.day === 'Sun')) || h
  })
  await shot(page, 'lines-08-hours')

  step('the demo flow opens in the editor and saves unchanged')
  const before = (await api('GET', '/api/v1/flows/1')).text
  await open(page, '/console/flows/1', 'lines-flow-editor')
  await eventually('the demo flow is shown', async () => (await page.inputValue(field('flow-name'))) === '默认流程' || 'not yet')
  await shot(page, 'lines-09-demo-flow')
  await page.click('[data-test=flow-save]')
  await expectText(page, '.el-message--success', '已保存')
  const after = (await api('GET', '/api/v1/flows/1')).text
  if (after !== before) fail(`the demo flow changed:\n${before}\n${after}`)

  if (page.errors.length) fail(`the page threw: ${page.errors.join(' | ')}`)
  ok('no script errors on any page')
}

run(main)

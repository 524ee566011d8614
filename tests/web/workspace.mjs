// The agent workspace in Debian's Chromium, driven by playwright-core (tests/web.rs
// starts the daemon and runs this through tests/common/browser.rs; lib.mjs has the
// shared steps). Environment: lib.mjs's, and AGENT, AGENT_PASSWORD.
import { api, env, eventually, expectText, fail, field, launch, ok, run, shot, step, text, BASE } from './lib.mjs'

const AGENT = env('AGENT')
const PASSWORD = env('AGENT_PASSWORD')

async function agentState(number) {
  const r = await api('GET', '/api/v1/agents')
  return (r.json ?? []).find((a) => a.number === number)
}

const secs = (s) => s.split(':').reduce((acc, part) => acc * 60 + Number(part), 0)

async function main() {
  step('the daemon serves the app')
  const index = await api('GET', '/')
  if (index.status !== 200 || !index.text.includes('<div id="app">'))
    fail(`GET / is not the built app (${index.status}): ${index.text.slice(0, 200)}; run make web`)
  if (!index.headers.get('content-type').startsWith('text/html')) fail('index.html is not text/html')
  if (index.headers.get('cache-control') !== 'no-cache') fail('index.html is cached')
  const script = index.text.match(/src="(\/assets\/[^"]+\.js)"/)?.[1]
  if (!script) fail('index.html names no script under /assets/')
  const asset = await api('GET', script)
  if (asset.status !== 200 || !asset.headers.get('content-type').startsWith('text/javascript'))
    fail(`${script}: ${asset.status} ${asset.headers.get('content-type')}`)
  if (!asset.headers.get('cache-control').includes('immutable')) fail(`${script} is not cached long`)
  const deep = await api('GET', '/workspace')
  if (deep.status !== 200 || deep.text !== index.text) fail('/workspace is not index.html')
  for (const missing of ['/assets/missing-0000.js', '/favicon-none.png', '/assets/../../Cargo.toml']) {
    const r = await api('GET', missing)
    if (r.status !== 404) fail(`${missing}: ${r.status}, not 404`)
  }
  ok('index.html, hashed assets, app paths and 404s are served as they should be')

  const page = await launch()
  const pageErrors = page.errors
  // Every change the app sends: method, path, and its CSRF and content-type headers.
  const changes = []
  page.on('request', (r) => {
    if (r.method() !== 'GET' && r.url().includes('/api/'))
      changes.push({ what: `${r.method()} ${new URL(r.url()).pathname}`, headers: r.headers() })
  })

  step('the login page, in Chinese')
  await page.goto(BASE + '/', { waitUntil: 'domcontentloaded' })
  await page.waitForURL(/\/login$/)
  await expectText(page, '[data-test=login-title]', '坐席登录')
  await expectText(page, '[data-test=login-submit]', '登录')
  await expectText(page, '[data-test=login-mode]', '坐席话机')
  await expectText(page, '[data-test=login-mode]', '软电话')
  await expectText(page, '[data-test=login-mode]', '直线')
  if ((await page.getAttribute('html', 'lang')) !== 'zh-CN') fail('the page is not lang=zh-CN')
  await shot(page, '01-login-zh')

  step('switch to English')
  await page.click('[data-test=lang-en]')
  await expectText(page, '[data-test=login-title]', 'Agent sign-in')
  await expectText(page, '[data-test=login-submit]', 'Sign in')
  await expectText(page, '[data-test=login-mode]', 'Softphone')
  const saved = await page.evaluate(() => localStorage.getItem('callbox.locale'))
  if (saved !== 'en') fail(`the language is not kept (${saved})`)
  await page.reload({ waitUntil: 'domcontentloaded' })
  await expectText(page, '[data-test=login-title]', 'Agent sign-in')
  ok('English is kept across a reload')
  await shot(page, '02-login-en')
  await page.click('[data-test=lang-zh-CN]')
  await expectText(page, '[data-test=login-title]', '坐席登录')

  step('a missing password is named')
  await page.fill(field('login-user'), AGENT)
  await page.click('[data-test=login-submit]')
  await expectText(page, '.el-message--error', '请填写密码')

  step('sign in with the direct line, which the agent has no number for')
  await page.fill(field('login-password'), PASSWORD)
  await page.click('[data-test=mode-direct]')
  await page.click('[data-test=login-submit]')
  await expectText(page, '.el-message--error', '字段“接听方式”')
  await page.waitForURL(/\/workspace$/)
  await expectText(page, '[data-test=agent-state]', '签出')
  ok('the refused mode is shown naming the field, and the agent stays signed out of the ACD')
  const cookies = await page.context().cookies(BASE)
  if (!cookies.some((c) => c.httpOnly && c.sameSite === 'Strict'))
    fail(`no HttpOnly SameSite=Strict session cookie: ${JSON.stringify(cookies)}`)
  ok('the session is an HttpOnly, SameSite=Strict cookie')
  await shot(page, '03-login-refused-mode')

  step('switch the answer mode to the softphone from the avatar menu')
  await page.click('[data-test=avatar]')
  await page.click('[data-test=menu-mode]')
  await page.locator('[data-test=mode-dialog]').getByText('软电话').click()
  await page.click('[data-test=mode-confirm]')
  await expectText(page, '[data-test=agent-state]', '空闲')
  await expectText(page, '[data-test=agent-mode]', '软电话')
  await eventually('the API says idle on the softphone', async () => {
    const a = await agentState(AGENT)
    return (a?.state === 'idle' && a?.mode === 'softphone') || a
  })
  ok('the agent is idle on the softphone, as GET /api/v1/agents says')

  step('the state timer runs')
  const t1 = secs(await text(page, '[data-test=state-timer]'))
  await eventually('the state timer moves on', async () => {
    const t2 = secs(await text(page, '[data-test=state-timer]'))
    return t2 >= t1 + 2 || t2
  })
  ok(`the timer runs (from ${t1} s)`)
  await shot(page, '04-workspace-idle')

  step('the call bar')
  await expectText(page, '[data-test=call-bar]', '电话控制条')
  await expectText(page, '[data-test=no-call]', '无通话')
  for (const label of ['呼叫', '挂断', '保持', '转接', '咨询', '三方', '转调查', '转验证', '转菜单'])
    await expectText(page, '[data-test=call-bar]', label)
  if (!(await page.isDisabled('[data-test=btn-dial]'))) fail('呼叫 is enabled with no number')
  await page.click('[data-test=keypad-toggle]')
  for (const k of ['1', '3', '8', '0', '0', '1', '3', '8', '0', '0', '0']) {
    await page.locator('[data-test=keypad] button', { hasText: new RegExp(`^${k.replace('*', '\\*')}$`) }).click()
  }
  const dialled = await page.inputValue(field('dial-number'))
  if (dialled !== '13800138000') fail(`the keypad typed ${dialled}`)
  if (await page.isDisabled('[data-test=btn-dial]')) fail('呼叫 is disabled with a number')
  for (const b of ['hangup', 'hold', 'transfer', 'consult', 'conference', 'survey', 'verify', 'menu'])
    if (!(await page.isDisabled(`[data-test=btn-${b}]`))) fail(`${b} is enabled without a call`)
  ok('the call bar shows every button; only 呼叫 is enabled, once a number is keyed')
  await shot(page, '05-call-bar-keypad')
  await page.keyboard.press('Escape')

  step('switch to 小休')
  await page.click('[data-test=set-rest]')
  await expectText(page, '[data-test=agent-state]', '小休')
  await eventually('GET /api/v1/agents says rest', async () => {
    const a = await agentState(AGENT)
    return a?.state === 'rest' || a
  })
  ok('小休 is what GET /api/v1/agents says')
  const rest = secs(await text(page, '[data-test=state-timer]'))
  if (rest > 3) fail(`the timer did not restart with the new state (${rest} s)`)
  await shot(page, '06-workspace-rest')

  step('the workspace in English')
  await page.click('[data-test=lang-en]')
  await expectText(page, '[data-test=agent-state]', 'On a break')
  await expectText(page, '[data-test=call-bar]', 'Call bar')
  await expectText(page, '[data-test=btn-transfer]', 'Transfer')
  await shot(page, '07-workspace-en')
  await page.click('[data-test=lang-zh-CN]')
  await expectText(page, '[data-test=agent-state]', '小休')

  step('personal info')
  await page.click('[data-test=avatar]')
  await page.click('[data-test=menu-profile]')
  await expectText(page, '[data-test=profile]', AGENT)
  await shot(page, '08-profile')
  await page.keyboard.press('Escape')
  await page.locator('[data-test=profile]').waitFor({ state: 'hidden' })

  step('log out')
  await page.click('[data-test=avatar]')
  await page.click('[data-test=menu-logout]')
  await page.waitForURL(/\/login$/)
  await expectText(page, '[data-test=login-title]', '坐席登录')
  await eventually('GET /api/v1/agents says offline', async () => {
    const a = await agentState(AGENT)
    return a?.state === 'offline' || a
  })
  ok('logging out signs the agent out of the ACD and back to the login page')
  await page.goto(BASE + '/workspace', { waitUntil: 'domcontentloaded' })
  await page.waitForURL(/\/login$/)
  ok('the workspace needs a sign-in')
  await shot(page, '09-logged-out')

  if (pageErrors.length) fail(`errors on the page: ${pageErrors.join('; ')}`)
  const signedIn = changes.filter((c) => c.what !== 'POST /api/v1/session')
  const bad = signedIn.filter(
    (c) => !c.headers['x-csrf-token'] || !String(c.headers['content-type']).startsWith('application/json'),
  )
  if (!signedIn.some((c) => c.what.endsWith('/state'))) fail(`no state change was sent: ${JSON.stringify(changes.map((c) => c.what))}`)
  if (bad.length) fail(`sent without X-CSRF-Token or JSON: ${bad.map((c) => c.what).join(', ')}`)
  ok(`every change carried X-CSRF-Token and JSON (${signedIn.map((c) => c.what).join(', ')})`)
  ok('no script errors on the page')
}


await run(main)

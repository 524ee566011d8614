// What every browser script shares: Debian's Chromium through playwright-core, steps
// that print "ok - …" or "FAIL: …", waits with deadlines, screenshots, and the API
// over fetch (as this machine, or logged in as a user with the session's CSRF token).
// tests/common/browser.rs starts a script with the environment below and kills the
// browser by the pids written to PID_FILE if the script could not.
//
// Environment: CALLBOX_URL (http://127.0.0.1:PORT), PROFILE_DIR (a fresh Chromium
// profile), SCREENSHOTS (a directory), PID_FILE, TIMEOUT_MS (default 120000).
import { createRequire } from 'node:module'
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const web = join(here, '..', '..', 'web')
const { chromium } = createRequire(join(web, 'package.json'))('playwright-core')

export class Failed extends Error {}

export function fail(message) {
  throw new Failed(message)
}

export function ok(what) {
  console.log(`ok - ${what}`)
}

export function env(name, fallback) {
  const v = process.env[name] ?? fallback
  if (v === undefined) fail(`${name} is not set`)
  return v
}

export const BASE = env('CALLBOX_URL')
export const STEP_MS = 10000
const PROFILE = env('PROFILE_DIR')
export const SHOTS = env('SCREENSHOTS')
const PID_FILE = env('PID_FILE', '')
const TIMEOUT_MS = Number(env('TIMEOUT_MS', '120000'))

let browserPids = []
let context = null
/** What the script is doing now, for the failure message. */
export const at = { step: 'start' }

/** Names the step the script is in (shown if it fails or times out). */
export function step(what) {
  at.step = what
}

/** The pids of Chromium processes this node started (children of this process). */
function childPids() {
  const pids = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === process.pid) pids.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

function killBrowser() {
  for (const pid of browserPids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
}

/** Starts Chromium (zh-CN) on a fresh profile; resolves to its first page. */
export async function launch() {
  step('launch chromium')
  mkdirSync(SHOTS, { recursive: true })
  const before = new Set(childPids())
  context = await chromium.launchPersistentContext(PROFILE, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1366, height: 860 },
    locale: 'zh-CN',
    acceptDownloads: true,
    timeout: 30000,
  })
  browserPids = childPids().filter((p) => !before.has(p))
  if (PID_FILE) writeFileSync(PID_FILE, browserPids.join('\n') + '\n')
  ok(`chromium started (pid ${browserPids.join(', ')})`)
  context.setDefaultTimeout(STEP_MS)
  const page = context.pages()[0] ?? (await context.newPage())
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(e.message))
  return page
}

/** Another page in the same browser (another user: use a new context instead). */
export async function newContext() {
  const browser = context.browser()
  if (browser) return browser.newContext({ locale: 'zh-CN', viewport: { width: 1366, height: 860 } })
  fail('no browser to open a context in')
}

/** One request to the daemon; `as` is a client from `login` (else: this machine). */
export async function api(method, path, body, as = null) {
  const headers = { 'Content-Type': 'application/json' }
  if (as) {
    headers.Cookie = as.cookie
    if (method !== 'GET') headers['X-CSRF-Token'] = as.csrf
  }
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json = null
  if ((res.headers.get('content-type') ?? '').startsWith('application/json') && text) json = JSON.parse(text)
  return { status: res.status, headers: res.headers, text, json }
}

/** Logs `user` in over the API; the client for `api(…, as)`. */
export async function login(user, password) {
  const res = await fetch(BASE + '/api/v1/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  })
  const json = await res.json()
  if (res.status !== 200) fail(`login as ${user}: ${res.status} ${JSON.stringify(json)}`)
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]
  return { cookie, csrf: json.csrf, session: json }
}

/** Waits until `check` returns true (anything else is what it saw). */
export async function eventually(what, check, ms = STEP_MS) {
  const end = Date.now() + ms
  let last
  while (Date.now() < end) {
    try {
      last = await check()
      if (last === true) return
    } catch (e) {
      last = e.message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  fail(`${what} (last seen: ${JSON.stringify(last)})`)
}

export async function shot(page, name) {
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  ok(`screenshot ${path}`)
}

export async function text(page, sel) {
  return (await page.locator(sel).first().innerText({ timeout: STEP_MS })).trim()
}

export async function expectText(page, sel, want, ms = STEP_MS) {
  step(`${sel} shows ${want}`)
  await eventually(
    `${sel} shows "${want}"`,
    async () => {
      const got = await text(page, sel)
      return got.includes(want) || got
    },
    ms,
  )
  ok(`${sel} shows "${want}"`)
}

/** An el-input's <input>: Element Plus puts the attributes on the input itself. */
export const field = (name) => `input[data-test=${name}], textarea[data-test=${name}], [data-test=${name}] input, [data-test=${name}] textarea`

/** Waits until no CSS animation or transition runs on the page (a dropdown opening). */
export async function settled(page) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, {
    timeout: 5000,
  })
}

/**
 * Picks `label` in the el-select marked data-test=`name`: the option is clicked only
 * once it is there and the dropdown has stopped moving (a click while it opens is lost).
 */
export async function choose(page, name, label) {
  await page.click(`[data-test=${name}]`)
  const option = page.locator('.el-select-dropdown:visible .el-select-dropdown__item', { hasText: label }).first()
  await option.waitFor()
  await settled(page)
  await option.click()
}

/** Runs the script's `main`, then reports, screenshots a failure, and stops the browser. */
export async function run(main) {
  const watchdog = setTimeout(() => {
    console.log(`FAIL: timed out after ${TIMEOUT_MS} ms in step: ${at.step}`)
    killBrowser()
    process.exit(2)
  }, TIMEOUT_MS)
  let failed = false
  try {
    await main()
  } catch (e) {
    failed = true
    console.log(`FAIL: in step "${at.step}": ${e instanceof Failed ? e.message : (e?.stack ?? e)}`)
    try {
      for (const [i, page] of (context?.pages() ?? []).entries()) {
        const messages = await page.locator('.el-message').allInnerTexts()
        if (messages.length) console.log(`messages on page ${i}: ${messages.join(' | ')}`)
        await Promise.race([shot(page, `failure-${i}`), new Promise((r) => setTimeout(r, 5000))])
      }
    } catch {
      // the page is gone; nothing more to show
    }
  } finally {
    try {
      await Promise.race([context?.close(), new Promise((r) => setTimeout(r, 5000))])
    } catch {
      // killed below anyway
    }
    killBrowser()
    clearTimeout(watchdog)
  }
  process.exit(failed ? 1 : 0)
}

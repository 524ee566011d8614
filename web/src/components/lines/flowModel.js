// The IVR editor's pure logic: the node kinds core/ivr/flow.rs knows and their
// defaults, adding, removing, moving and retyping nodes (keeping every link whole),
// labels for pickers, the weekly table of business hours, and which node a refusal
// of the daemon names ("field": "nodes[2]"). No Vue, no requests: test/lines.test.js
// runs it as it is. Must not invent fields the daemon does not read: a node is saved
// exactly as core's serde shape.

/** Every node kind, in the order the editor offers them. */
export const KINDS = [
  'menu',
  'play',
  'collect',
  'hours',
  'queue',
  'transfer_agent',
  'transfer_number',
  'hangup',
  'agent',
  'rate',
  'continue',
]

/** Phone keys, as a menu offers them. */
export const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#']

/** Weekdays as chrono writes them. */
export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']

/** What an agent node does (core's AgentAction). */
export const AGENT_ACTIONS = ['sign_in_direct', 'sign_in_here', 'sign_out', 'bind', 'read_binding']

/** The fields of each kind that name another node; `true` when one must be set. */
export const LINKS = {
  play: { next: false },
  menu: { fail: false },
  collect: { next: true, fail: false },
  hours: { open: true, closed: true },
  agent: { ok: true, unknown: true },
  rate: { next: false },
}

/** Monday to Friday, 09:00-18:00 (minutes after midnight). */
export function officeHours() {
  return DAYS.slice(0, 5).map((day) => ({ day, from: 9 * 60, to: 18 * 60 }))
}

/** A node of `type` with the defaults an admin would pick. */
export function newNode(type, id) {
  const base = { id, type }
  switch (type) {
    case 'play':
      return { ...base, prompts: [], next: null }
    case 'menu':
      return { ...base, prompts: [], choices: [], timeout_secs: 8, retries: 2, fail: null }
    case 'collect':
      return { ...base, prompts: [], max_digits: 4, timeout_secs: 8, retries: 2, next: null, fail: null }
    case 'hours':
      return { ...base, schedule: officeHours(), holidays: [], open: null, closed: null }
    case 'queue':
      return { ...base, group: null }
    case 'transfer_agent':
      return { ...base, agent: null }
    case 'transfer_number':
      return { ...base, number: null }
    case 'hangup':
      return { ...base, prompts: [] }
    case 'agent':
      return { ...base, action: 'sign_in_direct', ok: null, unknown: null }
    case 'rate':
      return { ...base, score: 5, next: null }
    case 'continue':
      return { ...base }
    default:
      throw new Error(`unknown node type ${type}`)
  }
}

/** The next free node id (1 for an empty flow). */
export function nextId(nodes) {
  return nodes.reduce((m, n) => Math.max(m, Number(n.id) || 0), 0) + 1
}

/** Does this kind play prompts? */
export const playsPrompts = (type) => ['play', 'menu', 'collect', 'hangup'].includes(type)

/** `node` as another kind: same id, the new kind's defaults, its prompts kept. */
export function retype(node, type) {
  const next = newNode(type, node.id)
  if (playsPrompts(type) && Array.isArray(node.prompts)) next.prompts = [...node.prompts]
  return next
}

/** Adds a node of `type` to `flow` (the first one becomes the start); its id. */
export function addNode(flow, type) {
  const id = nextId(flow.nodes)
  flow.nodes.push(newNode(type, id))
  if (flow.nodes.length === 1 || flow.start == null) flow.start = id
  return id
}

/** Every link of `node` to another node, as [field, id, required]. */
export function links(node) {
  const out = []
  for (const [field, required] of Object.entries(LINKS[node.type] ?? {})) out.push([field, node[field], required])
  if (node.type === 'menu') for (const c of node.choices ?? []) out.push([`key ${c.key}`, c.next, true])
  return out
}

/** Removes the node at `index`; links to it are cleared (a menu loses that key), and a
 * start that was it moves to the first node left. */
export function removeNode(flow, index) {
  const [gone] = flow.nodes.splice(index, 1)
  if (!gone) return
  for (const n of flow.nodes) {
    for (const field of Object.keys(LINKS[n.type] ?? {})) if (n[field] === gone.id) n[field] = null
    if (n.type === 'menu') n.choices = (n.choices ?? []).filter((c) => c.next !== gone.id)
  }
  if (flow.start === gone.id) flow.start = flow.nodes[0]?.id ?? null
}

/** Moves the node at `index` by `delta` places (the order is the editor's only). */
export function moveNode(nodes, index, delta) {
  const to = index + delta
  if (to < 0 || to >= nodes.length) return false
  const [n] = nodes.splice(index, 1)
  nodes.splice(to, 0, n)
  return true
}

/** A short label for pickers and the list: prompts, keys, group, number. */
export function summary(node, groups = []) {
  const said = (node.prompts ?? []).join(', ')
  switch (node.type) {
    case 'menu':
      return `${said} [${(node.choices ?? []).map((c) => `${c.key}→${c.next ?? '?'}`).join(' ')}]`
    case 'collect':
      return `${said} (≤${node.max_digits})`
    case 'hours':
      return `✓→${node.open ?? '?'} ✗→${node.closed ?? '?'}`
    case 'queue':
      return groups.find((g) => g.id === node.group)?.name ?? (node.group == null ? '?' : `#${node.group}`)
    case 'transfer_agent':
      return node.agent ?? '*'
    case 'transfer_number':
      return node.number ?? '*'
    case 'agent':
      return node.action
    case 'rate':
      return String(node.score)
    default:
      return said
  }
}

/** The node's place in the list that a refusal's field names (`nodes[2]` → 2), or -1. */
export function refusedNode(field) {
  const m = /^nodes\[(\d+)\]/.exec(field ?? '')
  return m ? Number(m[1]) : -1
}

/** The body the daemon takes: name, start and the nodes as they are. */
export function toSave(flow) {
  return { name: (flow.name ?? '').trim(), start: flow.start, nodes: flow.nodes }
}

/** 540 → "09:00"; 1440 → "24:00". */
export function hhmm(minutes) {
  const h = Math.floor(minutes / 60)
  const m = minutes % 60
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`
}

/** "9:30" → 570; null when it is not a time of day (24:00 is the day's end). */
export function minutes(text) {
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text ?? '')
  if (!m) return null
  const h = Number(m[1])
  const min = Number(m[2])
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return null
  return h * 60 + min
}

/** A schedule as the weekly table edits it: day → [{from: "09:00", to: "18:00"}]. */
export function weekTable(schedule) {
  const table = Object.fromEntries(DAYS.map((d) => [d, []]))
  for (const h of schedule ?? []) table[h.day]?.push({ from: hhmm(h.from), to: hhmm(h.to) })
  for (const d of DAYS) table[d].sort((a, b) => a.from.localeCompare(b.from))
  return table
}

/** The weekly table back as core's schedule, or the first problem as { day, index }. */
export function fromWeekTable(table) {
  const schedule = []
  for (const day of DAYS) {
    for (const [index, r] of (table[day] ?? []).entries()) {
      const from = minutes(r.from)
      const to = minutes(r.to)
      if (from == null || to == null || from >= to) return { error: { day, index } }
      schedule.push({ day, from, to })
    }
  }
  return { schedule }
}

// What the staff pages' pickers choose from: devices, skill groups, agents and IVR
// flows, read from the daemon. The flows are another area's (GET /api/v1/flows):
// when that route is missing the exit flow is typed as a plain id (flows = null).
import { ref } from 'vue'
import { api } from '../../api.js'

export const STRATEGIES = ['ring-all', 'longest-idle', 'round-robin', 'fewest-calls', 'least-talk-time', 'top-down', 'random']
export const MODES = ['device', 'softphone', 'direct']
export const KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#']

/** Reactive lists and a loader for each; a failed load leaves the list empty. */
export function usePickers() {
  const devices = ref([])
  const groups = ref([])
  const agents = ref([])
  const flows = ref(null)
  const get = async (path) => {
    try {
      return (await api.get(path)) ?? []
    } catch {
      return []
    }
  }
  return {
    devices,
    groups,
    agents,
    flows,
    loadDevices: async () => (devices.value = await get('/api/v1/devices')),
    loadGroups: async () => (groups.value = await get('/api/v1/groups')),
    loadAgents: async () => (agents.value = await get('/api/v1/staff/agents')),
    loadFlows: async () => {
      try {
        const r = await api.get('/api/v1/flows')
        flows.value = Array.isArray(r) ? r : (r?.flows ?? [])
      } catch {
        flows.value = null
      }
    },
  }
}

/** A device as a picker shows it. */
export function deviceLabel(d) {
  return d.name ? `${d.user} · ${d.name}` : d.user
}

/** A number input's value as the API takes it: null for an empty one. */
export function orNull(v) {
  return v === '' || v === undefined || v === null ? null : v
}

// The staff area's pages in the shell's 系统管理 section, for admins: 坐席管理
// (agents), 话机管理 (devices), 技能组 (skill groups and queue settings), 忙碌原因
// (busy reasons) and 用户管理 (web users). The API is /api/v1/staff/agents,
// /devices, /groups, /busy-reasons and /users (src/api/staff/).
import AgentsPage from '../views/staff/AgentsPage.vue'
import DevicesPage from '../views/staff/DevicesPage.vue'
import GroupsPage from '../views/staff/GroupsPage.vue'
import BusyReasonsPage from '../views/staff/BusyReasonsPage.vue'
import UsersPage from '../views/staff/UsersPage.vue'

const admin = (menu, order) => ({ menu: `staff.menu.${menu}`, section: 'console', roles: ['admin'], order })

export default [
  { path: 'console/agents', name: 'staff-agents', component: AgentsPage, meta: admin('agents', 50) },
  { path: 'console/devices', name: 'staff-devices', component: DevicesPage, meta: admin('devices', 51) },
  { path: 'console/groups', name: 'staff-groups', component: GroupsPage, meta: admin('groups', 52) },
  { path: 'console/busy-reasons', name: 'staff-busy-reasons', component: BusyReasonsPage, meta: admin('busyReasons', 53) },
  { path: 'console/users', name: 'staff-users', component: UsersPage, meta: admin('users', 54) },
]

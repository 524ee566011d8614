// The records area's pages (calls after the fact): 我的通话 in the 坐席工作台 section
// for anyone with an agent number; 通话记录 (the advanced query), 未接来电 and 导出任务
// in 监控与报表 for supervisors and admins. The API is /api/v1/calls and
// /api/v1/exports (src/api/records/).
import MyCallsPage from '../views/records/MyCallsPage.vue'
import CallsPage from '../views/records/CallsPage.vue'
import MissedCallsPage from '../views/records/MissedCallsPage.vue'
import ExportsPage from '../views/records/ExportsPage.vue'

const staff = ['supervisor', 'admin']

export default [
  {
    path: 'calls/mine',
    name: 'my-calls',
    component: MyCallsPage,
    meta: { menu: 'records.menu.mine', section: 'work', roles: ['agent', 'supervisor', 'admin'], needsAgent: true, order: 10 },
  },
  {
    path: 'calls',
    name: 'calls',
    component: CallsPage,
    meta: { menu: 'records.menu.calls', section: 'monitor', roles: staff, order: 30 },
  },
  {
    path: 'calls/missed',
    name: 'missed-calls',
    component: MissedCallsPage,
    meta: { menu: 'records.menu.missed', section: 'monitor', roles: staff, order: 31 },
  },
  {
    path: 'exports',
    name: 'exports',
    component: ExportsPage,
    meta: { menu: 'records.menu.exports', section: 'monitor', roles: staff, order: 32 },
  },
]

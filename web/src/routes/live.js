// The live area's pages in the shell: the wallboard (supervisors and admins), the
// agent status log and the why page (everyone; an agent sees their own). Loaded on
// first visit, so ECharts stays out of the workspace's bundle.
export default [
  {
    path: 'monitor/wallboard',
    name: 'wallboard',
    component: () => import('../views/live/WallboardPage.vue'),
    meta: { menu: 'live.menu.wallboard', section: 'monitor', roles: ['supervisor', 'admin'], order: 20 },
  },
  {
    path: 'monitor/status-log',
    name: 'status-log',
    component: () => import('../views/live/StatusLogPage.vue'),
    meta: { menu: 'live.menu.statusLog', section: 'monitor', roles: ['agent', 'supervisor', 'admin'], order: 21 },
  },
  {
    path: 'monitor/why',
    name: 'why',
    component: () => import('../views/live/WhyPage.vue'),
    meta: { menu: 'live.menu.why', section: 'monitor', roles: ['agent', 'supervisor', 'admin'], order: 22 },
  },
]

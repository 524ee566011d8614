// The app's pages. The login page stands alone; every other page sits in the shell
// (ShellLayout: the side menu and the header). Each area lists its pages in
// routes/<area>.js (default export: child routes of the shell), with
// meta: { menu: i18n key, section: 'work' | 'monitor' | 'console', roles, order }.
// History mode: the daemon answers index.html for every path of the app's own
// (src/api/web.rs).
import { createRouter, createWebHistory } from 'vue-router'
import { session, loadSession } from './session.js'
import LoginPage from './views/LoginPage.vue'
import ShellLayout from './views/ShellLayout.vue'
import WorkspacePage from './views/WorkspacePage.vue'

const areas = import.meta.glob('./routes/*.js', { eager: true })

/** The shell's pages: the workspace, then every area's, in menu order. */
export const pages = [
  {
    path: 'workspace',
    name: 'workspace',
    component: WorkspacePage,
    meta: { menu: 'menu.workspace', section: 'work', roles: ['agent', 'supervisor', 'admin'], needsAgent: true, order: 0 },
  },
  ...Object.keys(areas)
    .sort()
    .flatMap((k) => areas[k].default ?? []),
].sort((a, b) => (a.meta?.order ?? 50) - (b.meta?.order ?? 50))

/** May the signed-in role see the page? A page without roles is for everyone. */
export function mayOpen(page, s = session) {
  const roles = page.meta?.roles
  if (!roles) return true
  if (!roles.includes(s.role)) return false
  // The workspace and other agent pages need an agent number.
  return !page.meta?.needsAgent || !!s.agent
}

/** Where a role lands after signing in. */
export function home(s = session) {
  if (s.agent) return { name: 'workspace' }
  const first = pages.find((p) => p.name && p.name !== 'workspace' && mayOpen(p, s))
  return first ? { name: first.name } : { name: 'workspace' }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', name: 'login', component: LoginPage },
    {
      path: '/',
      component: ShellLayout,
      meta: { signedIn: true },
      children: [{ path: '', name: 'home', redirect: () => home() }, ...pages],
    },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach(async (to) => {
  if (!session.loaded) await loadSession()
  const needsSession = to.matched.some((r) => r.meta.signedIn)
  if (needsSession && !session.user) return { name: 'login' }
  if (to.name === 'login' && session.user) return home()
  const page = to.matched[to.matched.length - 1]
  if (needsSession && page && page.name !== 'home' && !mayOpen(page)) return home()
  return true
})

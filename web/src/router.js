// Two pages for now: the login page and the agent workspace. History mode: the
// daemon answers index.html for every path of the app's own (src/api/web.rs).
import { createRouter, createWebHistory } from 'vue-router'
import { session, loadSession } from './session.js'
import LoginPage from './views/LoginPage.vue'
import WorkspacePage from './views/WorkspacePage.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: '/workspace' },
    { path: '/login', name: 'login', component: LoginPage },
    { path: '/workspace', name: 'workspace', component: WorkspacePage, meta: { signedIn: true } },
    { path: '/:rest(.*)*', redirect: '/workspace' },
  ],
})

router.beforeEach(async (to) => {
  if (!session.loaded) await loadSession()
  if (to.meta.signedIn && !session.user) return { name: 'login' }
  if (to.name === 'login' && session.user) return { name: 'workspace' }
  return true
})

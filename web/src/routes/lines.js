// The lines area's pages in the shell's 系统管理 section, for admins: 中继管理
// (trunks), 服务号码 (service numbers), IVR 流程 (the flows and their editor at
// console/flows/:id, not in the menu), 语音文件 (prompts) and 营业时间 (business
// hours). The API is /api/v1/trunks, /service-numbers, /flows, /prompts and /hours
// (src/api/lines/).
import TrunksPage from '../views/lines/TrunksPage.vue'
import NumbersPage from '../views/lines/NumbersPage.vue'
import FlowsPage from '../views/lines/FlowsPage.vue'
import FlowEditorPage from '../views/lines/FlowEditorPage.vue'
import PromptsPage from '../views/lines/PromptsPage.vue'
import HoursPage from '../views/lines/HoursPage.vue'

const admin = (menu, order) => ({ menu: menu && `lines.menu.${menu}`, section: 'console', roles: ['admin'], order })

export default [
  { path: 'console/trunks', name: 'lines-trunks', component: TrunksPage, meta: admin('trunks', 40) },
  { path: 'console/numbers', name: 'lines-numbers', component: NumbersPage, meta: admin('numbers', 41) },
  { path: 'console/flows', name: 'lines-flows', component: FlowsPage, meta: admin('flows', 42) },
  { path: 'console/flows/:id', name: 'lines-flow', component: FlowEditorPage, meta: admin(null, 42) },
  { path: 'console/prompts', name: 'lines-prompts', component: PromptsPage, meta: admin('prompts', 43) },
  { path: 'console/hours', name: 'lines-hours', component: HoursPage, meta: admin('hours', 44) },
]

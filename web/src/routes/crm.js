// The customer area's pages in the shell: 工单 (tickets, everyone), 客户管理
// (customer cards, supervisors and admins) and 工单类型 (ticket types, admins). The
// screen pop itself is a component of the workspace (components/crm/CustomerPanel).
import TicketsPage from '../views/crm/TicketsPage.vue'
import CustomersPage from '../views/crm/CustomersPage.vue'
import TicketTypesPage from '../views/crm/TicketTypesPage.vue'

export default [
  {
    path: 'tickets',
    name: 'tickets',
    component: TicketsPage,
    meta: { menu: 'crm.menu.tickets', section: 'work', roles: ['agent', 'supervisor', 'admin'], order: 20 },
  },
  {
    path: 'customers',
    name: 'customers',
    component: CustomersPage,
    meta: { menu: 'crm.menu.customers', section: 'work', roles: ['supervisor', 'admin'], order: 21 },
  },
  {
    path: 'console/ticket-types',
    name: 'ticket-types',
    component: TicketTypesPage,
    meta: { menu: 'crm.menu.ticketTypes', section: 'console', roles: ['admin'], order: 60 },
  },
]

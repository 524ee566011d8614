import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { i18n, setLocale } from './i18n.js'
import { router } from './router.js'
import './style.css'

setLocale(i18n.global.locale.value)
createApp(App).use(ElementPlus).use(i18n).use(router).mount('#app')

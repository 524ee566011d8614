// The agent workspace, built into web/dist, which the daemon embeds (src/api/web.rs).
// Hashed file names under /assets/ are cached for a year; index.html never is.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Element Plus is one chunk of its own; the app is small.
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks: { 'element-plus': ['element-plus'], vue: ['vue', 'vue-router', 'vue-i18n'] },
      },
    },
  },
  // `npm run dev` against a daemon on this machine: the API is proxied.
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.js'],
  },
})

// The buyer chat widget: one self-contained script (Vue bundled, CSS inlined into a shadow root),
// embedded in any shop page with <script src="/app/widget.js" data-token="b1.…">.
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/app/',
  plugins: [vue()],
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    lib: {
      entry: 'src/widget/main.ts',
      name: 'KefuWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
})

import { defineConfig } from "vitest/config";

// Every page's script is an entry built into Django's static folder with fixed names, so a template
// references `annotator/app/<page>.js` (and `editor.css`) without a manifest. Code two pages share
// goes into `chunks/`; the entries are ES modules (templates load them with type="module").
const PAGES = ["editor", "cases", "review", "rounds", "exports"];

export default defineConfig({
  base: "/static/annotator/app/",
  build: {
    outDir: "../annotator/static/annotator/app",
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
    rollupOptions: {
      input: Object.fromEntries(PAGES.map((p) => [p, `src/pages/${p}.ts`])),
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "chunks/[name].js",
        assetFileNames: "[name][extname]",
      },
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
    globals: true,
  },
});

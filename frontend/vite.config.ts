import { defineConfig } from "vitest/config";

// Builds the editor into Django's static folder with fixed names, so the template can reference
// `annotator/editor/editor.js` and `editor.css` without a manifest.
export default defineConfig({
  base: "/static/annotator/editor/",
  build: {
    outDir: "../annotator/static/annotator/editor",
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
    lib: false,
    rollupOptions: {
      input: "src/main.ts",
      output: {
        entryFileNames: "editor.js",
        chunkFileNames: "editor-[name].js",
        assetFileNames: (info) => (info.names?.[0]?.endsWith(".css") ? "editor.css" : "[name][extname]"),
        inlineDynamicImports: true,
      },
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
    globals: true,
  },
});

import { defineConfig } from "vite";

// The built viewer ships as package data: llavataros serves src/llavataros/assets/web/.
export default defineConfig({
  base: "./",
  build: {
    outDir: "../src/llavataros/assets/web",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
});

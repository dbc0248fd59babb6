import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built by DayTrading.Host.csproj into obj/webclient and embedded in the node's assembly: one flat folder (the
// embedded file provider maps "/name.ext" to a resource name, so no asset sub-folders), hashed names, no source maps.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    assetsDir: '',
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 500,
  },
});

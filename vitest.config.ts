import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Unhandled rejections fail the run: a loader must never leave one behind.
    dangerouslyIgnoreUnhandledErrors: false,
    testTimeout: 20_000,
  },
});

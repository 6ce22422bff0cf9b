import { defineConfig } from 'vitest/config';

// Four tiers: unit (pure logic and the client against the simulator over loopback), contract
// (everything checked against openapi/cedana.json), integration (a real kube-apiserver and etcd),
// image (the Dockerfile built with docker build and run by testcontainers on a Docker engine of its own).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { name: 'contract', include: ['test/contract/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'image',
          include: ['test/image/**/*.test.ts'],
          globalSetup: ['test/image/harness/global-setup.ts'],
          testTimeout: 180_000,
          // A cold docker build (npm ci, tsc) in a beforeAll.
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

/** Unit tests run on Pulumi mocks; integration tests run shell scripts over a real sshd against a real PostgreSQL. */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
module.exports = {
  // Evaluating the program on mocks takes ~1 s alone and several on a loaded 2-core machine:
  // jest's 5 s default failed tests that evaluate a few configs there. (A global option.)
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"] },
  ],
};

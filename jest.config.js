/**
 * Unit tests run on Pulumi mocks; integration tests run shell scripts over a real sshd against a real PostgreSQL;
 * the rehearsal runs the program's own commands on lab hosts (network namespaces, sshd, dockerd; needs root).
 */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"] },
    { ...common, displayName: "rehearsal", testMatch: ["<rootDir>/tests/rehearsal/**/*.test.ts"] },
  ],
};

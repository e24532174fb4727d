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
  // Evaluating the program on mocks takes seconds on a busy 2-core machine; jest's 5 s default
  // turns load into failures. Tests that wait on purpose set their own, longer timeouts.
  testTimeout: 60_000,
  // The integration files mostly wait on containers, sshd and heartbeats, not on the CPU: three
  // files at a time on 2 cores (jest's default is cores - 1 = one). Each file has its own dockerd,
  // network namespace, sshd and ports, so files never share state.
  maxWorkers: 3,
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"] },
    // The lab itself (namespaces, sshd, dockerd, no route out, teardown) and the release scenarios on one lab
    // (~5 min on 2 cores): part of `npm test`; `npm run rehearse` runs this project and prints the figures.
    { ...common, displayName: "rehearsal", testMatch: ["<rootDir>/tests/rehearsal/lab.test.ts", "<rootDir>/tests/rehearsal/release.test.ts"] },
  ],
};

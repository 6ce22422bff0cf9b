// The Cedana API simulator: see docs/simulator.md.
export { startSimulator, defaultLogger } from './server.ts';
export type { Exchange, Faults, RunningSimulator, SimulatorHooks, SimulatorOptions, SimulatorStats, StoredUpload } from './server.ts';
export { FaultsPatch, NO_FAULTS } from './faults.ts';

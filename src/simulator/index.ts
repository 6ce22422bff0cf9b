// The Cedana API simulator: see docs/simulator.md.
export { startSimulator, defaultLogger } from './server.ts';
export type { Exchange, Faults, Malformation, Profile, RunningSimulator, SimulatorHooks, SimulatorOptions, SimulatorStats, StoredUpload } from './server.ts';
export { FaultsPatch, MALFORMATIONS, NO_FAULTS, malform } from './faults.ts';

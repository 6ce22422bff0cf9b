// cedana-operator command line: one binary, subcommands for the operator, the simulator and the demo.
import { checkpointCommand } from './commands/checkpoint.ts';
import { clusterCommand } from './commands/cluster.ts';
import { demoCommand } from './commands/demo.ts';
import { restoreCommand } from './commands/restore.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { simulatorCommand } from './simulator/cli.ts';

const HELP = `Usage: cedana-operator <command> [options]

Commands:
  simulator   Serve a local Cedana API simulator (see --help of the command)
  run         Run the operator against a cluster (in-cluster or KUBECONFIG)
  demo        Start a local control plane, the simulator and the operator; checkpoint and restore a pod
  cluster     Register this cluster with Cedana (register NAME, list, delete ID); prints CEDANA_CLUSTER_ID
  checkpoint  Checkpoint a pod (creates a PodCheckpoint); --wait follows it to Ready
  restore     Restore a Ready PodCheckpoint into a new pod (creates a PodRestore); --wait follows it
  status      Protected pods of a namespace, their newest Ready checkpoint, what a node loss would do
  help        Show this help
`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'run':
      return runCommand(argv.slice(1));
    case 'demo':
      return demoCommand(argv.slice(1));
    case 'simulator':
      return simulatorCommand(argv.slice(1));
    case 'checkpoint':
      return checkpointCommand(argv.slice(1));
    case 'restore':
      return restoreCommand(argv.slice(1));
    case 'status':
      return statusCommand(argv.slice(1));
    case 'cluster':
      return clusterCommand(argv.slice(1));
    default:
      process.stderr.write(`cedana-operator: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));

// cedana-operator command line: one binary, subcommands for the operator, the simulator and the demo.
// Each command's module is imported when it is named: `run` must not load what only the CLI
// commands use (client-node costs 85 MiB and 0.4 s; src/kube/access.ts).

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
      return (await import('./commands/run.ts')).runCommand(argv.slice(1));
    case 'demo':
      return (await import('./commands/demo.ts')).demoCommand(argv.slice(1));
    case 'simulator':
      return (await import('./simulator/cli.ts')).simulatorCommand(argv.slice(1));
    case 'checkpoint':
      return (await import('./commands/checkpoint.ts')).checkpointCommand(argv.slice(1));
    case 'restore':
      return (await import('./commands/restore.ts')).restoreCommand(argv.slice(1));
    case 'status':
      return (await import('./commands/status.ts')).statusCommand(argv.slice(1));
    case 'cluster':
      return (await import('./commands/cluster.ts')).clusterCommand(argv.slice(1));
    default:
      process.stderr.write(`cedana-operator: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));

// cedana-operator command line: one binary, subcommands for the operator, the simulator and the demo.
const HELP = `Usage: cedana-operator <command> [options]

Commands:
  simulator   Serve a local Cedana API simulator (see --help of the command)
  run         Run the operator against a cluster (in-cluster or KUBECONFIG)
  demo        Start a local control plane, the simulator and the operator; checkpoint and restore a pod
  help        Show this help
`;

function main(argv: string[]): number {
  const [command] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`cedana-operator: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));

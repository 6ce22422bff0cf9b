// cedana-operator command line: one binary, subcommands for the operator, the simulator and the demo.
import { demoCommand } from './commands/demo.ts';
import { runCommand } from './commands/run.ts';
import { simulatorCommand } from './simulator/cli.ts';

const HELP = `Usage: cedana-operator <command> [options]

Commands:
  simulator   Serve a local Cedana API simulator (see --help of the command)
  run         Run the operator against a cluster (in-cluster or KUBECONFIG)
  demo        Start a local control plane, the simulator and the operator; checkpoint and restore a pod
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
    default:
      process.stderr.write(`cedana-operator: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));

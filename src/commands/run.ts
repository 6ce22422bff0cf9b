// `cedana-operator run`: load and check the configuration, run until SIGTERM/SIGINT, then stop
// gracefully. Losing leadership exits non-zero so that Kubernetes restarts the pod as a standby.
import { ConfigError, RUN_HELP, loadConfig } from '../config/config.ts';
import { KubeConfigError, loadKubeAccess } from '../kube/access.ts';
import { createLogger } from '../log.ts';
import { StartupError, startOperator } from '../operator.ts';

export async function runCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cedana-operator: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let access;
  try {
    access = loadKubeAccess(config.kubeconfig);
  } catch (err) {
    if (err instanceof KubeConfigError) {
      log.fatal(err.message);
      process.stderr.write(`cedana-operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let operator;
  try {
    operator = await startOperator(config, access, log);
  } catch (err) {
    await access.close();
    if (err instanceof StartupError) {
      log.fatal(err.message);
      process.stderr.write(`cedana-operator: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutdown requested');
    void operator.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const outcome = await operator.done;
  await operator.stop();
  await access.close();
  return outcome === 'lost-leadership' ? 1 : 0;
}

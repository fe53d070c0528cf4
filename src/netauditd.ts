// netauditd: command line, signals, start and stop.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { DEFAULT_CONFIG_FILE } from './config/config.js';
import { Daemon } from './daemon.js';
import { exitNow, forbidCoreDumps } from './native/libc.js';

const USAGE = `Usage: netauditd [OPTION]...
Manage network configuration over D-Bus and audit every change to it.

  --config FILE         main configuration file (default ${DEFAULT_CONFIG_FILE});
                        FILE's directory may hold conf.d/*.conf
  --bus-address ADDRESS D-Bus address of the system bus to use (default:
                        $DBUS_SYSTEM_BUS_ADDRESS, else the system bus)
  --log-file FILE       append the daemon's log to FILE instead of standard error
  -h, --help            show this help and exit
  -V, --version         show the version and exit

Signals: SIGHUP reloads the configuration and the profiles; SIGTERM and
SIGINT stop the daemon. Exit status: 0 after a clean stop, 1 when it cannot
start or loses the bus, 2 for a wrong command line.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<number> {
  // Every profile change waits on a few fsyncs, each holding one of libuv's
  // thread-pool threads; with the default four, sixteen callers queue behind
  // each other's fsyncs. Set before the pool is first used.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  // V8 doubles an isolate's young generation while much of it survives, up to 32 MB, and never
  // gives those pages back: after a few thousand calls each worker thread (the file jobs, the
  // libaudit and journal backends) held that much for a heap of a few. Worker isolates made from
  // now on keep theirs at 1 MB a semi-space: more scavenges under load, each a short one. This
  // isolate's own limit was fixed at its start; only --max-semi-space-size on node's command line
  // (NODE_OPTIONS) sets it, at the cost of the code cache, which V8 made without that flag.
  setFlagsFromString('--max-semi-space-size=1');
  // The profiles' secrets live in this process's memory: no core dump may carry them.
  const dumps = forbidCoreDumps();
  if (!dumps.ok) process.stderr.write(`netauditd: warning: cannot turn core dumps off (prctl errno ${dumps.errno})\n`);
  let values: { config?: string; 'bus-address'?: string; 'log-file'?: string; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string' },
        'bus-address': { type: 'string' },
        'log-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`netauditd: ${(e as Error).message}\nTry 'netauditd --help'.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`netauditd ${version()}\n`);
    return 0;
  }

  let daemon: Daemon | undefined;
  let stopping = false;
  const fatal = (reason: string): void => {
    process.stderr.write(`netauditd: ${reason}; exiting\n`);
    if (!daemon) exitNow(1);
    daemon.stop().finally(() => exitNow(1));
  };
  // Caught from the start: a SIGTERM that comes while the daemon is still starting (its name is
  // on the bus already) stops it cleanly once it has started, rather than killing it half way.
  let stopRequested = false;
  const early = (): void => {
    stopRequested = true;
  };
  process.on('SIGTERM', early);
  process.on('SIGINT', early);
  try {
    daemon = await Daemon.start({
      configFile: values.config ?? DEFAULT_CONFIG_FILE,
      configRequired: values.config !== undefined,
      ...(values['bus-address'] !== undefined ? { busAddress: values['bus-address'] } : {}),
      ...(values['log-file'] !== undefined ? { logFile: values['log-file'] } : {}),
      version: version(),
      onFatal: fatal,
    });
  } catch (e) {
    process.stderr.write(`netauditd: cannot start: ${(e as Error).message}\n`);
    return 1;
  }

  const running = daemon;
  process.on('SIGHUP', () => void running.reloadOnSignal());
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => exitNow(0),
      (e: Error) => {
        process.stderr.write(`netauditd: error while stopping: ${e.message}\n`);
        exitNow(1);
      },
    );
  };
  process.off('SIGTERM', early);
  process.off('SIGINT', early);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (stopRequested) stop();
  process.on('unhandledRejection', (e) => {
    running.logger.domain('CORE').err(`unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  });
  // A bug that escapes every handler leaves state that cannot be trusted: log it, stop (the
  // trail is flushed and closed, the name released) and exit 1, so that systemd restarts us.
  process.on('uncaughtException', (e) => {
    running.logger.domain('CORE').err(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    fatal('internal error');
  });
  return -1;
}

main().then((code) => {
  if (code >= 0) process.exit(code);
});

// general: netauditd's overall status (nmcli's `general status`): STATE,
// NETWORKING, WIFI, the audit switch and each audit backend's health, all
// from one Properties.GetAll of the Manager; `general logging` is `logging`.
import { clientOptionsOf, withDaemon } from '../bus/daemon-client.js';
import { MANAGER_IFACE, MANAGER_PATH } from '../bus/names.js';
import { ExitCode } from '../exit-codes.js';
import { render, type Column } from '../format/render.js';
import { defineNoun } from '../noun.js';
import { PROGRAM } from '../output.js';
import { managerStateName, stateColor } from '../state-names.js';
import { LOGGING_USAGE, runLogging } from './logging.js';

const COLUMNS: readonly Column[] = [
  { name: 'STATE', colorOf: stateColor },
  { name: 'NETWORKING', colorOf: stateColor },
  { name: 'WIFI', colorOf: stateColor },
  { name: 'AUDIT', colorOf: stateColor },
  { name: 'AUDIT-BACKENDS', default: false },
  { name: 'VERSION', default: false },
];

const enabled = (on: unknown): string => (on === true ? 'enabled' : 'disabled');

type BackendHealth = Record<string, { failing?: boolean; failed?: bigint | number; dropped?: bigint | number; queued?: number }>;

/**
 * `enabled`, `disabled`, or `enabled (failing: libaudit, journal)` while
 * backends fail: auditing is on, but those backends' records are lost.
 */
function auditCell(on: unknown, backends: BackendHealth | undefined): string {
  const failing = Object.entries(backends ?? {}).filter(([, b]) => b.failing).map(([name]) => name);
  return on === true && failing.length > 0 ? `enabled (failing: ${failing.join(', ')})` : enabled(on);
}

/** One word per backend: `jsonl:ok`, or `journal:failing(failed=2,dropped=0,queued=1)`. */
function backendsCell(backends: BackendHealth | undefined): string[] {
  return Object.entries(backends ?? {}).map(([name, b]) =>
    b.failing ? `${name}:failing(failed=${Number(b.failed ?? 0)},dropped=${Number(b.dropped ?? 0)},queued=${b.queued ?? 0})` : `${name}:ok`,
  );
}

const STATUS_USAGE = `Usage: ${PROGRAM} [OPTION]... general [status]
Shows netauditd's overall state.
Fields (-f): STATE, NETWORKING, WIFI, AUDIT (default), AUDIT-BACKENDS, VERSION.
`;

export const general = defineNoun({
  name: 'general',
  summary: "netauditd's overall status, and its logging",
  description: "netauditd's overall status, and its log level and domains.",
  defaultVerb: 'status',
  verbs: [
    {
      name: 'status',
      summary: 'show the overall status (the default)',
      usage: STATUS_USAGE,
      async run(args, context, usageError) {
        if (args.length > 0) throw usageError(`unexpected argument ${JSON.stringify(args[0])}`);
        return withDaemon(clientOptionsOf(context), async (client) => {
          const p = await client.getAll(MANAGER_PATH, MANAGER_IFACE);
          const backends = p['AuditBackends'] as BackendHealth | undefined;
          render(
            COLUMNS,
            [
              {
                STATE: managerStateName(p['State'] as number),
                NETWORKING: enabled(p['NetworkingEnabled']),
                WIFI: enabled(p['WirelessEnabled']),
                AUDIT: auditCell(p['AuditEnabled'], backends),
                'AUDIT-BACKENDS': backendsCell(backends),
                VERSION: (p['Version'] as string) ?? null,
              },
            ],
            context.output,
          );
          return ExitCode.Success;
        });
      },
    },
    {
      name: 'logging',
      summary: 'show or set the log level and domains (as `logging`)',
      usage: LOGGING_USAGE,
      run: (args, context) => runLogging(args, context, `${PROGRAM} general logging --help`),
    },
  ],
});

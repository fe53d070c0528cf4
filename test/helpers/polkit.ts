// The real polkitd on a test bus (ENVIRONMENT §5): our actions file and a test rules file are
// installed at polkit's fixed paths, polkitd is started on the bus and waited for; `stop()` (or, at
// the latest, `bus.stop()`) kills it and removes both files.
import { existsSync } from 'node:fs';
import { chown, copyFile, chmod, rm, writeFile } from 'node:fs/promises';
import { onBusStop, killAndReap, type TestBus } from './bus.js';
import { connect } from './client.js';
import { run } from './exec.js';
import { repoPath } from './repo.js';
import { waitFor } from './wait.js';

export const POLKITD = '/usr/lib/polkit-1/polkitd';
export const POLKIT_NAME = 'org.freedesktop.PolicyKit1';
export const ACTIONS_FILE = '/usr/share/polkit-1/actions/org.netaudit1.policy';
export const RULES_FILE = '/etc/polkit-1/rules.d/49-netaudit-test.rules';

export interface TestPolkit {
  /** polkitd's pid (from the bus), 0 once stopped */
  pid: number;
  /** Kills polkitd and waits until its name has left the bus; the files stay until `bus.stop()`. */
  stop(): Promise<void>;
}

/** A rules file that grants `user` the one action `actionId`, and nothing else. */
export function grantRule(user: string, actionId: string): string {
  return `// netauditd's integration test (test/helpers/polkit.ts): removed when the test ends.
polkit.addRule(function (action, subject) {
  if (action.id == ${JSON.stringify(actionId)} && subject.user == ${JSON.stringify(user)}) return polkit.Result.YES;
});
`;
}

/** Installs the files and starts polkitd on `bus`; fails with what to install when polkitd is missing. */
export async function startPolkit(bus: TestBus, rules: string): Promise<TestPolkit> {
  if (!existsSync(POLKITD)) {
    throw new Error(`polkitd is not installed (${POLKITD} is missing): install the Debian package polkitd (apt-get install polkitd), which scripts/test.sh does`);
  }
  const polkitUser = await run('id', ['-u', 'polkitd']);
  if (polkitUser.code !== 0) throw new Error('user polkitd is missing: reinstall the Debian package polkitd');
  const polkitUid = Number(polkitUser.stdout.trim());

  onBusStop(bus, async () => {
    await rm(ACTIONS_FILE, { force: true });
    await rm(RULES_FILE, { force: true });
  });
  await copyFile(repoPath('data', 'org.netaudit1.policy'), ACTIONS_FILE);
  await chmod(ACTIONS_FILE, 0o644);
  // rules.d is 0700 polkitd: the file must be polkitd's to read.
  await writeFile(RULES_FILE, rules, { mode: 0o644 });
  await chown(RULES_FILE, polkitUid, 0);
  await chmod(RULES_FILE, 0o644);

  const started = await run('setsid', ['-f', POLKITD, '--no-debug'], { env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address } });
  if (started.code !== 0) throw new Error(`setsid -f ${POLKITD} --no-debug failed (exit ${started.code}): ${started.stderr}`);

  const client = await connect(bus.address);
  const polkit: TestPolkit = { pid: 0, stop: async () => undefined };
  try {
    polkit.pid = await waitFor(async () => {
      const [pid] = await client.callBus('GetConnectionUnixProcessID', 's', [POLKIT_NAME]);
      return pid as number;
    }, { timeoutMs: 15_000, what: `polkitd to own ${POLKIT_NAME} on ${bus.address}` });
  } finally {
    client.close();
  }
  polkit.stop = async () => {
    if (polkit.pid === 0) return;
    const pid = polkit.pid;
    polkit.pid = 0;
    await killAndReap(pid);
    const watcher = await connect(bus.address);
    try {
      await waitFor(async () => {
        const [has] = await watcher.callBus('NameHasOwner', 's', [POLKIT_NAME]);
        return has === false;
      }, { what: `${POLKIT_NAME} to leave the bus after polkitd ${pid} was stopped` });
    } finally {
      watcher.close();
    }
  };
  // Registered after the files' removal, so it runs before it.
  onBusStop(bus, () => polkit.stop());
  return polkit;
}

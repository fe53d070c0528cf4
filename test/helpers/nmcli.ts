// nmcli: NetworkManager's own keyfile reader, `nmcli --offline` (NetworkManager ≥ 1.40),
// for the tests that compare netauditd's reading and writing of profiles with it.
import { execFileSync } from 'node:child_process';

export function hasOfflineNmcli(): boolean {
  try {
    const m = /version (\d+)\.(\d+)/.exec(execFileSync('nmcli', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return m !== null && (Number(m[1]) > 1 || Number(m[2]) >= 40);
  } catch {
    return false;
  }
}

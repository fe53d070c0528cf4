// vitest globalSetup: journald, then auditd with kernel auditing on, once per run, before any test
// file; both are left running (ENVIRONMENT §8: later tests expect them, and restarting journald
// turns auditing off again).
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';

export default async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) {
    // Unit tests need neither; the integration tests need root anyway.
    console.warn('system-services: not root, so journald and auditd are not checked or started');
    return;
  }
  const journald = await ensureJournald();
  const auditd = await ensureAuditd();
  if (journald.started) console.info(`system-services: started systemd-journald (pid ${journald.pid})`);
  if (auditd.started) console.info(`system-services: started auditd (pid ${auditd.pid})`);
}

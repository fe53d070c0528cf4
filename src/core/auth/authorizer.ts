// Authorizer: decides whether a caller may perform an action (SPEC §3). The
// action ids are the ones declared in data/org.netaudit1.policy.
import type { Caller } from '../caller.js';

export type Action =
  | 'org.netaudit1.settings.modify.system'
  | 'org.netaudit1.network-control'
  | 'org.netaudit1.enable-disable-network'
  | 'org.netaudit1.enable-disable-wifi'
  | 'org.netaudit1.sleep-wake'
  | 'org.netaudit1.reload'
  | 'org.netaudit1.logging'
  | 'org.netaudit1.secrets';

export interface Authorizer {
  /** Resolves when allowed; rejects with a PermissionDenied NetauditError otherwise. */
  require(caller: Caller, action: Action): Promise<void>;
}

// Authorizer: decides whether a caller may perform an action. The
// action ids are the ones declared in data/org.netaudit1.policy; which
// operation asks which is src/core/operations.ts's to say.
import type { Caller } from '../caller.js';

/** The polkit actions of data/org.netaudit1.policy, by a name the code can check. */
export const Action = {
  ModifySystem: 'org.netaudit1.settings.modify.system',
  NetworkControl: 'org.netaudit1.network-control',
  EnableDisableNetwork: 'org.netaudit1.enable-disable-network',
  EnableDisableWifi: 'org.netaudit1.enable-disable-wifi',
  SleepWake: 'org.netaudit1.sleep-wake',
  Reload: 'org.netaudit1.reload',
  Logging: 'org.netaudit1.logging',
  Secrets: 'org.netaudit1.secrets',
} as const;

export type Action = (typeof Action)[keyof typeof Action];

/** How an allowed call was allowed: for being root, or because polkit said yes (the record's actor.auth). */
export type Authorization = 'uid0' | 'polkit';

export interface Authorizer {
  /** Resolves with how it was allowed; rejects with a PermissionDenied NetauditError otherwise. */
  require(caller: Caller, action: Action): Promise<Authorization>;
}

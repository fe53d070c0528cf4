// RootOnlyAuthorizer: `auth=root-only`, uid 0 alone may change anything.
import type { Caller } from '../caller.js';
import { NetauditError } from '../errors.js';
import type { Action, Authorization, Authorizer } from './authorizer.js';

export class RootOnlyAuthorizer implements Authorizer {
  async require(caller: Caller, action: Action): Promise<Authorization> {
    if (caller.uid === 0) return 'uid0';
    throw new NetauditError(
      'PermissionDenied',
      `Not authorized: ${action} is allowed to root (uid 0) only, and the caller runs as uid ${caller.uid}. Run the command as root.`,
      'not-authorized',
    );
  }
}

// PolkitAuthorizer: `auth=polkit`, every change by a caller other than root is
// polkit's to allow (docs/api.md); uid 0 is allowed without asking, as
// NetworkManager and systemd's services allow it, and the record says so.
// The subject is the caller's unique bus name ("system-bus-name"), never a
// pid: a pid can be reused by another process between the call and the check
// (CVE-2013-4288, CVE-2019-6133). Fail closed: anything but a clear yes from
// polkit — no polkit, no answer in time, an error reply, an answer of the
// wrong shape — is a refusal, never an allow (CVE-2021-3560).
import type { Caller } from '../caller.js';
import { NetauditError, quotePath } from '../errors.js';
import type { Action, Authorization, Authorizer } from './authorizer.js';

export interface PolkitAnswer {
  readonly authorized: boolean;
  /** polkit would allow it after authentication (is_challenge) */
  readonly challenge: boolean;
}

/** polkit's Authority, as the core needs it; the bus side implements it over D-Bus. */
export interface PolkitAuthority {
  /**
   * CheckAuthorization for the subject `busName` (a unique bus name).
   * `interactive`: polkit may ask the person through an authentication agent.
   * Rejects on any failure (no polkit, an error reply). `signal` aborts when
   * the answer is no longer wanted (the timeout): the implementation cancels
   * the check if it can, and its late answer is ignored.
   */
  check(busName: string, action: Action, interactive: boolean, signal: AbortSignal): Promise<PolkitAnswer>;
}

export interface PolkitAuthorizerOptions {
  readonly authority: PolkitAuthority;
  /** how long polkit may take to answer; default 10 s */
  readonly timeoutMs?: number;
  /** how long when the caller allowed interactive authorization (a person types a password); default 120 s */
  readonly interactiveTimeoutMs?: number;
  /** told why polkit could not be asked (the refusal's record says only `polkit-unavailable`) */
  readonly onUnavailable?: (message: string) => void;
}

const UNIQUE_NAME = /^:[0-9]+\.[0-9]+$/;

class Timeout extends Error {}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export class PolkitAuthorizer implements Authorizer {
  private readonly timeoutMs: number;
  private readonly interactiveTimeoutMs: number;

  constructor(private readonly options: PolkitAuthorizerOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.interactiveTimeoutMs = options.interactiveTimeoutMs ?? 120_000;
  }

  async require(caller: Caller, action: Action): Promise<Authorization> {
    // The uid is the bus's (GetConnectionCredentials), never the message's.
    if (caller.uid === 0) return 'uid0';
    const who = `the caller ${caller.busName} (uid ${caller.uid})`;
    if (!UNIQUE_NAME.test(caller.busName)) {
      throw new NetauditError(
        'PermissionDenied',
        `Refused: ${action} needs the caller's unique bus name for polkit, and ${quotePath(caller.busName)} is not one.`,
        'caller-unknown',
      );
    }
    const interactive = caller.interactive === true;
    let answer: PolkitAnswer;
    try {
      answer = await this.ask(caller.busName, action, interactive);
    } catch (e) {
      const why = e instanceof Timeout ? e.message : `${e instanceof Error ? e.message : String(e)}`;
      this.options.onUnavailable?.(`polkit could not authorize ${action} for ${who}: ${oneLine(why)}`);
      throw new NetauditError(
        'PermissionDenied',
        `Refused: polkit could not decide whether ${who} may do ${action} (${oneLine(why)}), so nothing was done. Check that polkitd runs (systemctl status polkit) and retry.`,
        'polkit-unavailable',
      );
    }
    // Only a boolean true is a yes; a malformed answer is no answer.
    if (typeof answer !== 'object' || answer === null || typeof answer.authorized !== 'boolean' || typeof answer.challenge !== 'boolean') {
      this.options.onUnavailable?.(`polkit gave a malformed answer for ${action} and ${who}`);
      throw new NetauditError(
        'PermissionDenied',
        `Refused: polkit gave no usable answer on whether ${who} may do ${action}, so nothing was done.`,
        'polkit-unavailable',
      );
    }
    if (answer.authorized === true) return 'polkit';
    if (answer.challenge) {
      throw new NetauditError(
        'PermissionDenied',
        interactive
          ? `Not authorized: ${action} requires authentication for ${who}, and none succeeded (no polkit authentication agent answered, or it was dismissed). Run an agent (e.g. pkttyagent) and retry, or an administrator can grant it with a polkit rule.`
          : `Not authorized: ${action} requires authentication for ${who}. Retry the call with interactive authorization allowed (e.g. busctl --allow-interactive-authorization=yes) and a polkit authentication agent running, or an administrator can grant it with a polkit rule.`,
        'not-authorized',
      );
    }
    throw new NetauditError(
      'PermissionDenied',
      `Not authorized: ${action} was refused by polkit for ${who}; an administrator can grant it with a polkit rule.`,
      'not-authorized',
    );
  }

  /** The check, bounded by the timeout; the late answer of a timed-out check is dropped. */
  private ask(busName: string, action: Action, interactive: boolean): Promise<PolkitAnswer> {
    const limit = interactive ? this.interactiveTimeoutMs : this.timeoutMs;
    const abort = new AbortController();
    return new Promise<PolkitAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Timeout(`no answer within ${seconds(limit)}`));
        abort.abort();
      }, limit);
      let pending: Promise<PolkitAnswer>;
      try {
        pending = this.options.authority.check(busName, action, interactive, abort.signal);
      } catch (e) {
        pending = Promise.reject(e);
      }
      pending.then(
        (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

// PolkitAuthorizer over a fake authority: polkit's yes is the only allow; its no, a challenge, an
// error, a late or malformed answer are each a PermissionDenied refusal with the right reason.
import { describe, expect, it } from 'vitest';
import type { Action } from '../../../../src/core/auth/authorizer.js';
import { PolkitAuthorizer, type PolkitAnswer, type PolkitAuthority } from '../../../../src/core/auth/polkit.js';
import type { Caller } from '../../../../src/core/caller.js';
import { NetauditError } from '../../../../src/core/errors.js';

interface Check {
  busName: string;
  action: Action;
  interactive: boolean;
  signal: AbortSignal;
}

class FakeAuthority implements PolkitAuthority {
  checks: Check[] = [];
  constructor(private readonly answer: (check: Check) => Promise<PolkitAnswer>) {}
  check(busName: string, action: Action, interactive: boolean, signal: AbortSignal): Promise<PolkitAnswer> {
    const check = { busName, action, interactive, signal };
    this.checks.push(check);
    return this.answer(check);
  }
}

const caller = (over: Partial<Caller> = {}): Caller => ({ busName: ':1.42', pid: 4242, uid: 1001, ...over });
const RELOAD: Action = 'org.netaudit1.reload';

async function refusal(promise: Promise<unknown>): Promise<NetauditError> {
  const e = await promise.then(
    () => {
      throw new Error('expected a refusal, got an allow');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NetauditError);
  expect((e as NetauditError).code).toBe('PermissionDenied');
  return e as NetauditError;
}

describe('PolkitAuthorizer', () => {
  it('allows when polkit says yes, asking for the caller\'s bus name, not interactively by default', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: true, challenge: false }));
    await expect(new PolkitAuthorizer({ authority }).require(caller(), RELOAD)).resolves.toBe('polkit');
    expect(authority.checks.map(({ busName, action, interactive }) => ({ busName, action, interactive }))).toEqual([
      { busName: ':1.42', action: RELOAD, interactive: false },
    ]);
  });

  it('allows uid 0 without asking polkit, and says so (uid0)', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: false, challenge: false }));
    await expect(new PolkitAuthorizer({ authority }).require(caller({ uid: 0 }), RELOAD)).resolves.toBe('uid0');
    expect(authority.checks).toEqual([]);
  });

  it('passes interactive authorization on when the call allowed it', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: true, challenge: false }));
    await new PolkitAuthorizer({ authority }).require(caller({ interactive: true }), RELOAD);
    expect(authority.checks[0]?.interactive).toBe(true);
  });

  it('refuses with not-authorized when polkit says no, naming the action, caller and uid', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: false, challenge: false }));
    const e = await refusal(new PolkitAuthorizer({ authority }).require(caller(), 'org.netaudit1.network-control'));
    expect(e.reason).toBe('not-authorized');
    expect(e.message).toBe(
      'Not authorized: org.netaudit1.network-control was refused by polkit for the caller :1.42 (uid 1001); an administrator can grant it with a polkit rule.',
    );
  });

  it('refuses a challenge with not-authorized, saying authentication is required and interactive authorization may help', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: false, challenge: true }));
    const e = await refusal(new PolkitAuthorizer({ authority }).require(caller(), 'org.netaudit1.secrets'));
    expect(e.reason).toBe('not-authorized');
    expect(e.message).toMatch(/^Not authorized: org\.netaudit1\.secrets requires authentication for the caller :1\.42 \(uid 1001\)\./);
    expect(e.message).toMatch(/interactive authorization allowed/);
  });

  it('refuses a challenge to an interactive call too, saying no authentication succeeded', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: false, challenge: true }));
    const e = await refusal(new PolkitAuthorizer({ authority }).require(caller({ interactive: true }), 'org.netaudit1.secrets'));
    expect(e.reason).toBe('not-authorized');
    expect(e.message).toMatch(/requires authentication .* none succeeded/);
  });

  it('refuses with polkit-unavailable when the authority rejects (no polkit, an error reply)', async () => {
    const told: string[] = [];
    const authority = new FakeAuthority(async () => {
      throw new Error('org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.PolicyKit1 was not provided by any .service files');
    });
    const e = await refusal(new PolkitAuthorizer({ authority, onUnavailable: (m) => told.push(m) }).require(caller(), RELOAD));
    expect(e.reason).toBe('polkit-unavailable');
    expect(e.message).toMatch(/^Refused: polkit could not decide whether the caller :1\.42 \(uid 1001\) may do org\.netaudit1\.reload \(org\.freedesktop\.DBus\.Error\.ServiceUnknown: /);
    expect(told).toHaveLength(1);
  });

  it('refuses with polkit-unavailable when the authority throws synchronously', async () => {
    const authority: PolkitAuthority = {
      check: () => {
        throw new Error('boom');
      },
    };
    const e = await refusal(new PolkitAuthorizer({ authority }).require(caller(), RELOAD));
    expect(e.reason).toBe('polkit-unavailable');
  });

  it('refuses with polkit-unavailable when polkit does not answer in time, aborts the check and ignores the late yes', async () => {
    let answer!: (a: PolkitAnswer) => void;
    const authority = new FakeAuthority(() => new Promise((resolve) => (answer = resolve)));
    const started = Date.now();
    const e = await refusal(new PolkitAuthorizer({ authority, timeoutMs: 50 }).require(caller(), RELOAD));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(e.reason).toBe('polkit-unavailable');
    expect(e.message).toMatch(/no answer within 50 ms/);
    expect(authority.checks[0]?.signal.aborted).toBe(true);
    answer({ authorized: true, challenge: false }); // too late: changes nothing
  });

  it('uses the longer interactive timeout for an interactive call', async () => {
    const authority = new FakeAuthority(() => new Promise(() => undefined));
    const e = await refusal(
      new PolkitAuthorizer({ authority, timeoutMs: 10, interactiveTimeoutMs: 80 }).require(caller({ interactive: true }), RELOAD),
    );
    expect(e.message).toMatch(/no answer within 80 ms/);
  });

  it('one caller waiting for polkit does not hold up another', async () => {
    const authority = new FakeAuthority((c) =>
      c.busName === ':1.1' ? new Promise(() => undefined) : Promise.resolve({ authorized: true, challenge: false }),
    );
    const authorizer = new PolkitAuthorizer({ authority, timeoutMs: 5_000 });
    const slow = authorizer.require(caller({ busName: ':1.1' }), RELOAD);
    slow.catch(() => undefined);
    await expect(authorizer.require(caller({ busName: ':1.2' }), RELOAD)).resolves.toBe('polkit');
  });

  it.each([
    ['null', null],
    ['a string', 'yes'],
    ['a truthy non-boolean', { authorized: 1, challenge: false }],
    ['no challenge field', { authorized: true }],
  ])('never allows on a malformed answer (%s)', async (_name, answer) => {
    const authority = new FakeAuthority(async () => answer as unknown as PolkitAnswer);
    const e = await refusal(new PolkitAuthorizer({ authority }).require(caller(), RELOAD));
    expect(e.reason).toBe('polkit-unavailable');
  });

  it('refuses a caller without a unique bus name without asking polkit', async () => {
    const authority = new FakeAuthority(async () => ({ authorized: true, challenge: false }));
    const e = await refusal(new PolkitAuthorizer({ authority }).require(caller({ busName: '' }), RELOAD));
    expect(e.reason).toBe('caller-unknown');
    expect(authority.checks).toEqual([]);
  });
});

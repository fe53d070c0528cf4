// Reapply: Device.Reapply and Device.GetAppliedConnection, as NetworkManager
// has them (docs/reapply.md). Reapply applies what changed in a running
// connection's settings to its link in place — addresses, routes, rules,
// MTU, MAC, bridge and port options, DNS — without taking the link down and
// without changing the stored profile. Audited as device-reapply and
// committed by its record before the kernel is asked (docs/commit.md): a
// kernel refusal takes back what was done and overturns the record. The
// active connection's undo list and its run-dir state stay exact
// (docs/active-state.md): what Reapply adds goes on the undo list, what it
// removes of the activation's leaves it.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { CallerRef } from '../caller.js';
import { NetauditError, quote } from '../errors.js';
import { authorize, OPERATIONS } from '../operations.js';
import { KernelRefusal, type Link, type LinkChange, type Platform } from '../platform/platform.js';
import { refuseUnapplied } from '../settings/applicable.js';
import { refuseHeld } from '../settings/stored-profile.js';
import { changedKeys } from '../settings/diff.js';
import { withoutSecrets } from '../settings/secrets.js';
import { validateSettings } from '../settings/validate.js';
import type { Settings, SettingsInput } from '../settings/value.js';
import { ACTIVE_STATE, type ActiveConnection } from './active-connection.js';
import type { ActivationsOptions } from './activations.js';
import { appliedValues } from './applied-values.js';
import { differing, existed, ipv4LinkLocal, kernelError, pick } from './apply.js';
import { planActivation, type ActivationPlan, type IpPlan } from './plan.js';
import { addressKey, ipDelta, keepIdentity, refuseDhcpChange, refuseIncompatible, REAPPLY_PRESERVE_EXTERNAL_IP, routeKey, ruleKey } from './reapply-diff.js';
import { describeUndo, isGone, routeText, ruleText, runUndo, type UndoStep } from './undo.js';
import { setStaticDns } from './static-dns.js';

export interface ReapplyOptions extends Pick<ActivationsOptions, 'audit' | 'auth' | 'settings' | 'devices' | 'platform' | 'log' | 'ipv6ConfDir' | 'dns'> {
  /** runs `run` in the activations' queue: one activation, deactivation or Reapply at a time */
  readonly serialized: <T>(run: () => Promise<T>) => Promise<T>;
  /** the active connection on link `ifindex`, if any */
  readonly activeOn: (ifindex: number) => ActiveConnection | undefined;
  /** keeps its state in run-dir */
  readonly persist: (active: ActiveConnection) => void;
  readonly seenOn: (ifindex: number) => Promise<ActiveConnection['seen']>;
  readonly nextVersionId: () => bigint;
  /** the applied settings changed: the DNS from router advertisements follows them (ipv6.ignore-auto-dns, dns-priority) */
  readonly raDnsChanged?: (active: ActiveConnection) => Promise<void>;
}

export class Reapplier {
  constructor(private readonly options: ReapplyOptions) {}

  /** GetAppliedConnection: the settings the connection on the device runs with, never secrets, and their version id. */
  appliedConnection(ifindex: number, flags: number): { settings: Settings; versionId: bigint } {
    if (flags !== 0) throw new NetauditError('InvalidArgument', `flags ${flags}: GetAppliedConnection takes no flags; pass 0.`);
    const device = this.options.devices.byIfindex(ifindex);
    if (!device) throw new NetauditError('UnknownDevice', `No device has ifindex ${ifindex} (it may have been removed); GetDevices lists them.`);
    const active = this.options.activeOn(ifindex);
    if (!active) throw new NetauditError('ConnectionNotActive', `Nothing is active on ${quote(device.name)}: it has no applied connection.`);
    return { settings: withoutSecrets(active.appliedSettings), versionId: active.versionId };
  }

  /**
   * Reapply (op device-reapply): `input` empty means the profile's saved
   * settings; `versionId` 0 means whatever is applied now; `flags` 0 or
   * PRESERVE_EXTERNAL_IP (what this daemon always does: it removes only what
   * the connection added).
   */
  reapply(ref: CallerRef, ifindex: number, input: SettingsInput, versionId: bigint, flags: number): Promise<void> {
    const { audit, devices } = this.options;
    const device = devices.byIfindex(ifindex);
    const running = this.options.activeOn(ifindex);
    const context = {
      op: OPERATIONS['Device.Reapply'].op,
      ifindex,
      ...(device ? { iface: device.name } : {}),
      ...(running ? { uuid: running.uuid, name: running.id } : {}),
    };
    return audit.audited(ref, context, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Device.Reapply']);
      if ((flags & ~REAPPLY_PRESERVE_EXTERNAL_IP) !== 0) {
        throw new NetauditError('InvalidArgument', `flags ${flags}: Reapply knows only 0x1 (preserve external addresses); pass 0 or 1.`);
      }
      const given = this.validated(input);
      return this.options.serialized(async () => {
        const current = devices.byIfindex(ifindex);
        if (!current) throw new NetauditError('UnknownDevice', `No device has ifindex ${ifindex} (it may have been removed); GetDevices lists them.`);
        const active = this.options.activeOn(ifindex);
        if (!active || active.state !== ACTIVE_STATE.activated || active.ifindex === null) {
          throw new NetauditError('ConnectionNotActive', `Nothing is activated on ${quote(current.name)}: there is nothing to reapply.`);
        }
        tx.describe({ uuid: active.uuid, name: active.id, iface: current.name });
        const next = keepIdentity(active.appliedSettings, withoutSecrets(given ?? this.savedSettings(active)));
        const changed = changedKeys(active.appliedSettings, next);
        refuseIncompatible(changed, current.name);
        if (versionId !== 0n && versionId !== active.versionId) {
          throw new NetauditError(
            'VersionIdMismatch',
            `version_id ${versionId} is not the applied connection's (${active.versionId}): it changed meanwhile; read it again with GetAppliedConnection, or pass 0.`,
          );
        }
        const before = planActivation(active.appliedSettings);
        const after = planActivation(next);
        refuseDhcpChange(changed, before, after, current.name);
        tx.describe({ changed, before: appliedValues(before, current.name), after: appliedValues(after, current.name) });
        await tx.commit(() => this.apply(active, before, after, next, changed.length > 0), { kernelChange: true });
      });
    });
  }

  /** The caller's settings checked as an Update checks them; null for an empty dictionary (the saved profile). */
  private validated(input: SettingsInput): Settings | null {
    const decoded = input.decode();
    if (decoded.size === 0) return null;
    // A uuid left out is generated as Update does; keepIdentity then puts the applied one back.
    const settings = validateSettings(decoded, { generateUuid: randomUUID });
    refuseUnapplied(settings);
    return settings;
  }

  private savedSettings(active: ActiveConnection): Settings {
    const conn = this.options.settings.byObjectNumber(active.connection);
    if (!conn) throw new NetauditError('UnknownConnection', `The profile of ${quote(active.id)} no longer exists: pass the settings to reapply.`);
    // A value read from its file that the daemon cannot apply is refused here as activation refuses it.
    refuseHeld(conn.id, conn.holds);
    return conn.settings;
  }

  private async apply(active: ActiveConnection, before: ActivationPlan, after: ActivationPlan, next: Settings, changed: boolean): Promise<void> {
    const ifindex = active.ifindex!;
    const run = new ReapplyRun(this.options, active, ifindex);
    try {
      await run.apply(before, after);
    } catch (e) {
      this.options.log.info(`reapply on ${active.describe()} failed: ${(e as Error).message}; taking back what it changed`);
      await run.takeBack();
      throw e;
    }
    active.appliedSettings = next;
    // DNS is applied in place too (docs/dns.md); it fails nothing.
    if (this.options.dns) await setStaticDns(this.options.dns, active.number, after, ifindex, active.iface);
    await this.options.raDnsChanged?.(active);
    if (changed) active.versionId = this.options.nextVersionId();
    active.seen = await this.options.seenOn(ifindex);
    this.options.persist(active);
    this.options.log.info(`reapplied ${active.describe()} (version id ${active.versionId})`);
  }
}


/** One Reapply on one link: its kernel requests, the undo list kept in step, and how to take it all back. */
class ReapplyRun {
  /** the inverse of each request done, newest last */
  private readonly done: Array<{ what: string; run: () => Promise<unknown> }> = [];
  private readonly undoBefore: UndoStep[];
  private readonly appliedBefore: ActiveConnection['applied'];

  constructor(
    private readonly options: ReapplyOptions,
    private readonly active: ActiveConnection,
    private readonly ifindex: number,
  ) {
    this.undoBefore = [...active.undo];
    this.appliedBefore = active.applied;
  }

  private get platform(): Platform {
    return this.options.platform;
  }

  private link(): Link {
    const link = this.options.devices.byIfindex(this.ifindex)?.link;
    if (!link) throw new NetauditError('UnknownDevice', `The link ${quote(this.active.iface)} disappeared while it was being reapplied.`, 'device-removed');
    return link;
  }

  /** Removals first (what a prefix change replaces must go before its successor comes), then the link's settings, then additions. */
  async apply(before: ActivationPlan, after: ActivationPlan): Promise<void> {
    const link = this.link();
    const macAfter = after.clonedMac ?? this.original('hwAddress') ?? link.hwAddress;
    const d = ipDelta(before, after, this.ifindex, { before: () => ipv4LinkLocal(link), after: () => ipv4LinkLocal({ ...link, hwAddress: String(macAfter) }) });
    for (const rule of d.rules.remove) await this.drop(`remove the rule ${ruleText(rule)}`, (u) => u.kind === 'remove-rule' && ruleKey(u.rule) === ruleKey(rule), () => this.platform.addRule(rule));
    for (const route of d.routes.remove) await this.drop(`remove the route ${routeText(route)}`, (u) => u.kind === 'remove-route' && routeKey(u.route) === routeKey(route), () => this.platform.addRoute(route));
    for (const address of d.addresses.remove) {
      await this.drop(`remove the address ${address.address}/${address.prefix}`, (u) => u.kind === 'remove-address' && addressKey(u.address) === addressKey(address), () => this.platform.addAddress(address));
    }
    if (before.mtu !== after.mtu) await this.linkSetting('mtu', after.mtu, `set the MTU to ${after.mtu ?? this.original('mtu')}`);
    if (before.clonedMac !== after.clonedMac) {
      const key = after.clonedMac !== null && after.type === 'bridge' && !after.settings.get('802-3-ethernet')?.has('cloned-mac-address') ? 'bridge.mac-address' : '802-3-ethernet.cloned-mac-address';
      await this.linkSetting('hwAddress', after.clonedMac, `set the MAC address to ${after.clonedMac ?? this.original('hwAddress')} (${key}) while the link is up`);
    }
    if (after.bridge && JSON.stringify(before.bridge) !== JSON.stringify(after.bridge)) await this.bridgeOptions(after.bridge);
    if (after.port && JSON.stringify(before.port) !== JSON.stringify(after.port)) await this.portOptions(after.port);
    if (before.ipv6?.method !== after.ipv6?.method) await this.ipv6Switch(after.ipv6);
    for (const address of d.addresses.add) {
      await this.add(`add the address ${address.address}/${address.prefix}`, { kind: 'remove-address', address }, () => this.platform.addAddress(address), () => this.platform.deleteAddress(address));
    }
    // Routes kept are asked for again when addresses went: the kernel may have taken them along.
    const routes = d.addresses.remove.length > 0 ? [...d.routes.add, ...d.routes.keep] : d.routes.add;
    for (const route of routes) await this.add(`add the route ${routeText(route)}`, { kind: 'remove-route', route }, () => this.platform.addRoute(route), () => this.platform.deleteRoute(route));
    for (const rule of d.rules.add) await this.add(`add the rule ${ruleText(rule)}`, { kind: 'remove-rule', rule }, () => this.platform.addRule(rule), () => this.platform.deleteRule(rule));
  }

  /** Takes back every request done, newest first, then puts the undo list and the applied link settings back as they were. */
  async takeBack(): Promise<void> {
    while (this.done.length > 0) {
      const step = this.done.pop()!;
      await step.run().catch((e: unknown) => {
        if (!isGone(e) && !(e instanceof KernelRefusal && e.code === 'EEXIST')) this.options.log.warn(`reapply on ${this.active.describe()}: could not ${step.what}: ${(e as Error).message}`);
      });
    }
    this.active.undo.splice(0, this.active.undo.length, ...this.undoBefore);
    this.active.applied = this.appliedBefore;
    this.active.pending = null;
    this.options.persist(this.active);
  }

  /** The value the link had before the connection changed `key`, from its undo step; undefined when it did not change it. */
  private original(key: 'mtu' | 'hwAddress'): number | string | undefined {
    const step = this.active.undo.find((u) => u.kind === 'restore-link' && u.ifindex === this.ifindex && u.change[key] !== undefined);
    return step?.kind === 'restore-link' ? step.change[key] : undefined;
  }

  /**
   * One kernel request whose inverse `undo` goes on the undo list (pending
   * while the kernel answers, as in apply.ts), and whose `inverse` takes it
   * back should a later request fail. EEXIST (`exists`) leaves nothing to undo.
   */
  private async request(what: string, undo: UndoStep | null, run: () => Promise<unknown>, inverse: () => Promise<unknown>, exists?: (e: unknown) => boolean): Promise<void> {
    this.active.pending = undo;
    this.options.persist(this.active);
    try {
      await run();
    } catch (e) {
      this.active.pending = null;
      this.options.persist(this.active);
      if (exists?.(e)) return;
      throw kernelError(e, what, this.active.iface);
    }
    this.active.pending = null;
    this.done.push({ what: `take back: ${what}`, run: inverse });
    if (undo) this.active.undo.push(undo);
    this.options.persist(this.active);
  }

  /** Adds what the new settings have; on the undo list unless the kernel had it, or it is there already. */
  private async add(what: string, undo: UndoStep, run: () => Promise<unknown>, inverse: () => Promise<unknown>): Promise<void> {
    const listed = this.active.undo.some((u) => describeUndo(u) === describeUndo(undo));
    await this.request(what, listed ? null : undo, run, inverse, existed);
  }

  /** Removes what the old settings had, if the connection added it (what the link had before stays); its undo step goes. */
  private async drop(what: string, ours: (u: UndoStep) => boolean, inverse: () => Promise<unknown>): Promise<void> {
    const index = this.active.undo.findIndex(ours);
    if (index < 0) return;
    const step = this.active.undo[index]!;
    try {
      await runUndo(step, this.platform);
    } catch (e) {
      if (!isGone(e)) throw kernelError(e, what, this.active.iface);
    }
    this.done.push({ what: `take back: ${what}`, run: inverse });
    this.active.undo.splice(index, 1);
    this.options.persist(this.active);
  }

  /**
   * MTU or MAC: `wanted`, or — when the new settings name none — the value
   * the link had before the activation changed it. The undo step that
   * restores that value stays while the link differs from it.
   */
  private async linkSetting(key: 'mtu' | 'hwAddress', wanted: number | string | null, what: string): Promise<void> {
    const now = this.link()[key];
    const index = this.active.undo.findIndex((u) => u.kind === 'restore-link' && u.ifindex === this.ifindex && u.change[key] !== undefined);
    const original = this.original(key) ?? now;
    const target = wanted ?? original;
    if (target !== now) {
      const undo: UndoStep | null = index < 0 && target !== original && !(key === 'hwAddress' && original === '') ? { kind: 'restore-link', ifindex: this.ifindex, change: { [key]: original } } : null;
      await this.request(what, undo, () => this.platform.setLink(this.ifindex, { [key]: target } as LinkChange), () => this.platform.setLink(this.ifindex, { [key]: now } as LinkChange));
    }
    if (target === original && index >= 0) this.active.undo.splice(index, 1);
    const applied: Record<string, unknown> = { ...this.active.applied };
    if (wanted === null) delete applied[key];
    else applied[key] = wanted;
    this.active.applied = applied;
    this.options.persist(this.active);
  }

  /** A bridge's options; on a bridge the activation created they go with it, on another the undo step keeps the values it had. */
  private async bridgeOptions(wanted: NonNullable<ActivationPlan['bridge']>): Promise<void> {
    const current = await this.platform.bridgeOptions(this.ifindex).catch((e: unknown) => {
      throw kernelError(e, 'read the bridge options', this.active.iface);
    });
    const created = this.active.undo.some((u) => u.kind === 'delete-link' && u.ifindex === this.ifindex);
    const index = this.active.undo.findIndex((u) => u.kind === 'restore-bridge' && u.ifindex === this.ifindex);
    const step = this.active.undo[index];
    const original = { ...current, ...(step?.kind === 'restore-bridge' ? step.options : {}) };
    const change = differing(current, wanted);
    if (Object.keys(change).length > 0) {
      await this.request(`set the bridge options ${JSON.stringify(change)}`, null, () => this.platform.setBridgeOptions(this.ifindex, change), () => this.platform.setBridgeOptions(this.ifindex, pick(current, change)));
    }
    if (created) return;
    this.replaceStep(index, { kind: 'restore-bridge', ifindex: this.ifindex, options: pick(original, differing(original, wanted)) });
  }

  private async portOptions(wanted: NonNullable<ActivationPlan['port']>): Promise<void> {
    const current = await this.platform.bridgePortOptions(this.ifindex).catch((e: unknown) => {
      throw kernelError(e, 'read the bridge port options', this.active.iface);
    });
    const index = this.active.undo.findIndex((u) => u.kind === 'restore-bridge-port' && u.ifindex === this.ifindex);
    const step = this.active.undo[index];
    const original = { ...current, ...(step?.kind === 'restore-bridge-port' ? step.options : {}) };
    const change = differing(current, wanted);
    if (Object.keys(change).length > 0) {
      await this.request(`set the bridge port options ${JSON.stringify(change)}`, null, () => this.platform.setBridgePortOptions(this.ifindex, change), () => this.platform.setBridgePortOptions(this.ifindex, pick(current, change)));
    }
    this.replaceStep(index, { kind: 'restore-bridge-port', ifindex: this.ifindex, options: pick(original, differing(original, wanted)) });
  }

  /** Puts `step` where the step at `index` was (or last); drops it when it restores nothing. */
  private replaceStep(index: number, step: UndoStep & { options: object }): void {
    const empty = Object.keys(step.options).length === 0;
    if (index >= 0) this.active.undo.splice(index, 1, ...(empty ? [] : [step]));
    else if (!empty) this.active.undo.push(step);
    this.options.persist(this.active);
  }

  /** IPv6 on or off for the new method, as apply.ts sets it; 'ignore' puts back what the link had. */
  private async ipv6Switch(ip: IpPlan | null): Promise<void> {
    const path = `${this.options.ipv6ConfDir ?? '/proc/sys/net/ipv6/conf'}/${this.active.iface}/disable_ipv6`;
    const index = this.active.undo.findIndex((u) => u.kind === 'restore-sysctl' && u.path === path);
    const step = this.active.undo[index];
    let now: string;
    try {
      now = (await readFile(path, 'utf8')).trim();
    } catch {
      if (!ip || ip.method === 'ignore' || ip.method === 'disabled') return; // no IPv6 in this kernel: it is off already
      throw new NetauditError('NotSupported', `IPv6 is not available in this kernel: set ipv6.method to "disabled" or "ignore".`);
    }
    const original = step?.kind === 'restore-sysctl' ? step.value : now;
    const target = !ip || ip.method === 'ignore' ? original : ip.method === 'disabled' ? '1' : '0';
    if (target !== now) {
      const ifindex = this.active.ifindex!;
      const undo: UndoStep | null = index < 0 && target !== original ? { kind: 'restore-sysctl', path, value: original, ifindex } : null;
      // The addresses the kernel flushes or adds with IPv6 switched are the daemon's own.
      const write = (v: string) => () =>
        this.options.platform.ownChange(ifindex, () => writeFile(path, v)).catch((e: Error) => {
          throw new NetauditError('Failed', `IPv6 could not be ${v === '1' ? 'disabled' : 'enabled'} on ${quote(this.active.iface)}: ${e.message}.`, 'kernel-error');
        });
      await this.request(`${target === '1' ? 'disable' : 'enable'} IPv6`, undo, write(target), write(now));
    }
    if (target === original && index >= 0) {
      this.active.undo.splice(index, 1);
      this.options.persist(this.active);
    }
  }
}

// Manager: the daemon-wide operations of docs/api.md — reload, logging, sleep,
// networking on/off, the wireless switch, version, state, the devices —
// each changing one audited. Switching auditing is
// itself recorded: before the switch when it turns off, after it when it
// turns on (docs/record-format.md).
import { EventEmitter } from 'node:events';
import type { Config } from '../config/config.js';
import { LOG_DOMAINS, LOG_LEVELS, type LogDomain, type Logger, type LogLevel } from '../log/logger.js';
import type { AuditManager, AuditTransaction, BackendStatus } from './audit/audit-manager.js';
import type { Authorizer } from './auth/authorizer.js';
import type { CallerRef } from './caller.js';
import type { Device } from './devices/device.js';
import type { DeviceList } from './devices/device-list.js';
import { DeviceOps } from './devices/device-ops.js';
import { NetauditError, quote } from './errors.js';
import { authorize, OPERATIONS } from './operations.js';
import { booleanValue, onOff } from './property-value.js';
import type { SettingsService } from './settings/settings.js';
import type { SettingsConnection } from './settings/connection.js';
import type { Settings, SettingsInput } from './settings/value.js';
import { ACTIVE_STATE, type ActiveConnection } from './activation/active-connection.js';
import type { Activations } from './activation/activations.js';
import type { IpConfigView } from './activation/ip-config.js';
import type { PersistentState, RuntimeState } from './state/daemon-state.js';
import type { StateStore } from './state/state-store.js';

/** NetworkManager's NMState values. */
export const NM_STATE = {
  asleep: 10,
  disconnected: 20,
  disconnecting: 30,
  connecting: 40,
  connectedLocal: 50,
  connectedSite: 60,
  connectedGlobal: 70,
} as const;

export type ManagerProperty = 'state' | 'networkingEnabled' | 'wirelessEnabled' | 'activeConnections';

export interface ManagerEvents {
  changed: [ManagerProperty[]];
}

export const RELOAD_CONF = 1;
export const RELOAD_CONNECTIONS = 2;

export interface ManagerOptions {
  readonly version: string;
  readonly audit: AuditManager;
  readonly auth: () => Authorizer;
  readonly settings: SettingsService;
  readonly devices: DeviceList;
  readonly activations: Activations;
  readonly logger: Logger;
  /** NetworkingEnabled, WirelessEnabled and the device settings, kept in state-dir */
  readonly state: StateStore<PersistentState>;
  /** sleep, kept in run-dir */
  readonly runtimeState: StateStore<RuntimeState>;
  /** reads the configuration files again; rejects with a message naming file and line */
  readonly loadConfig: () => Promise<Config>;
  /** readies a new configuration (opening what it needs) without making it current */
  readonly prepareConfig: (config: Config) => Promise<PreparedConfig>;
}

export interface PreparedConfig {
  /** true when the switch turns auditing (or a backend) on: its record comes after it (docs/record-format.md) */
  readonly recordAfterApply: boolean;
  /** makes the configuration current; cannot fail */
  apply(): void;
}

export interface LoggingState {
  readonly level: LogLevel;
  readonly domains: string;
}

export class Manager extends EventEmitter<ManagerEvents> {
  /**
   * Sleep(true) .. Sleep(false), kept in run-dir (a restart keeps it, a
   * reboot clears it); NetworkingEnabled (Enable) and WirelessEnabled, kept
   * in state-dir with the device settings. Each changes only through its
   * record (StateStore). While networking is off or the daemon sleeps,
   * activations are refused, and turning either on deactivates everything.
   */
  private get sleeping(): boolean {
    return this.options.runtimeState.value.sleeping;
  }

  private get networking(): boolean {
    return this.options.state.value.networking;
  }

  private get wireless(): boolean {
    return this.options.state.value.wireless;
  }

  private readonly deviceOps: DeviceOps;
  private lastState: number = NM_STATE.disconnected;

  constructor(private readonly options: ManagerOptions) {
    super();
    this.deviceOps = new DeviceOps({ audit: options.audit, auth: options.auth, devices: options.devices, state: options.state });
    const { activations } = options;
    activations.on('added', () => this.changed(['activeConnections']));
    activations.on('removed', () => this.changed(['activeConnections']));
    activations.on('state', () => this.changed([]));
  }

  /** Announces `props`, and State too when it moved. */
  private changed(props: ManagerProperty[]): void {
    const state = this.state;
    const all = state !== this.lastState ? [...props, 'state' as const] : props;
    this.lastState = state;
    if (all.length > 0) this.emit('changed', all);
  }

  /** Why an activation cannot start now, or null when it can. */
  activationBlocked(): NetauditError | null {
    if (!this.networking) {
      return new NetauditError('NetworkingDisabled', 'Networking is disabled: Enable(true) enables it, then activate again.');
    }
    if (this.sleeping) return new NetauditError('NetworkingDisabled', 'The daemon is asleep: Sleep(false) wakes it, then activate again.', 'asleep');
    return null;
  }

  get version(): string {
    return this.options.version;
  }

  /**
   * NetworkManager's NMState: asleep while asleep or networking is off;
   * else from the active connections — connected-global when an activated
   * one has a default route, connected-site when one is activated,
   * connecting while one activates, disconnecting while one goes,
   * disconnected otherwise.
   */
  get state(): number {
    if (this.sleeping || !this.networking) return NM_STATE.asleep;
    const actives = this.options.activations.list();
    const activated = actives.filter((a) => a.state === ACTIVE_STATE.activated);
    if (activated.some((a) => a.hasGateway)) return NM_STATE.connectedGlobal;
    if (activated.length > 0) return NM_STATE.connectedSite;
    if (actives.some((a) => a.state === ACTIVE_STATE.activating)) return NM_STATE.connecting;
    if (actives.some((a) => a.state === ACTIVE_STATE.deactivating)) return NM_STATE.disconnecting;
    return NM_STATE.disconnected;
  }

  /** ActiveConnections: by number. */
  activeConnections(): ActiveConnection[] {
    return this.options.activations.list();
  }

  activeConnection(number: number): ActiveConnection | undefined {
    return this.options.activations.byNumber(number);
  }

  /** ActivateConnection (op connection-activate); `ifindex` null: the profile's interface-name. */
  activate(ref: CallerRef, connection: number, ifindex: number | null): Promise<ActiveConnection> {
    return this.options.activations.activate(ref, connection, ifindex);
  }

  /** AddAndActivateConnection (op connection-add-activate). */
  addAndActivate(ref: CallerRef, input: SettingsInput, ifindex: number | null): Promise<{ conn: SettingsConnection; active: ActiveConnection }> {
    return this.options.activations.addAndActivate(ref, input, ifindex);
  }

  /** DeactivateConnection (op connection-deactivate). */
  deactivate(ref: CallerRef, active: number): Promise<void> {
    return this.options.activations.deactivate(ref, active);
  }

  /** Device.Disconnect (op device-disconnect). */
  disconnectDevice(ref: CallerRef, ifindex: number): Promise<void> {
    return this.options.activations.disconnect(ref, ifindex);
  }

  /** Device.Reapply (op device-reapply). */
  reapplyDevice(ref: CallerRef, ifindex: number, input: SettingsInput, versionId: bigint, flags: number): Promise<void> {
    return this.options.activations.reapply(ref, ifindex, input, versionId, flags);
  }

  /** Device.GetAppliedConnection. */
  appliedConnection(ifindex: number, flags: number): { settings: Settings; versionId: bigint } {
    return this.options.activations.appliedConnection(ifindex, flags);
  }

  /** Device.Ip4Config / Ip6Config: what runs on the device, by family; null when nothing does or the family is off. */
  ipConfig(ifindex: number, family: 4 | 6): IpConfigView | null {
    return this.options.activations.ipConfig(ifindex, family);
  }

  /** Device.Dhcp4Config / Dhcp6Config: the options of the device's DHCP lease, by family; null without one. */
  dhcpOptions(ifindex: number, family: 4 | 6): Readonly<Record<string, string>> | null {
    return this.options.activations.dhcpOptions(ifindex, family);
  }

  /** NetworkingEnabled: false after Enable(false); activation checks it here. */
  get networkingEnabled(): boolean {
    return this.networking;
  }

  get wirelessEnabled(): boolean {
    return this.wireless;
  }

  get auditEnabled(): boolean {
    return this.options.audit.isEnabled;
  }

  auditBackends(): BackendStatus[] {
    return this.options.audit.status();
  }

  /** GetDevices: the kernel links of the daemon's namespace, by ifindex. */
  devices(): Device[] {
    return this.options.devices.list();
  }

  /** GetDeviceByIpIface: the device whose interface name is `iface` now. */
  deviceByIpIface(iface: string): Device {
    const device = this.options.devices.byName(iface);
    if (!device) throw new NetauditError('UnknownDevice', `No device has the interface name ${quote(iface)}; GetDevices lists them.`);
    return device;
  }

  /** Device.Managed write (`signature`: the variant's; a wrong type is a recorded InvalidArgument). */
  setDeviceManaged(ref: CallerRef, ifindex: number, signature: string, value: unknown): Promise<void> {
    return this.deviceOps.setManaged(ref, ifindex, signature, value);
  }

  setDeviceAutoconnect(ref: CallerRef, ifindex: number, signature: string, value: unknown): Promise<void> {
    return this.deviceOps.setAutoconnect(ref, ifindex, signature, value);
  }

  /** Device.Delete: a software link only (op device-delete). */
  deleteDevice(ref: CallerRef, ifindex: number): Promise<void> {
    return this.deviceOps.delete(ref, ifindex);
  }

  /**
   * Enable(b): op networking-control, args on/off, authorized by
   * enable-disable-network. As in NetworkManager, asking for the state
   * networking is in already is an error (AlreadyEnabledOrDisabled),
   * recorded as a failed attempt.
   */
  async enable(ref: CallerRef, enable: boolean): Promise<void> {
    return this.options.audit.audited(ref, { op: OPERATIONS['Manager.Enable'].op, args: enable ? 'on' : 'off' }, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.Enable']);
      if (this.networking === enable) {
        throw new NetauditError(
          'AlreadyEnabledOrDisabled',
          enable ? 'Networking is already enabled: Enable(false) disables it.' : 'Networking is already disabled: Enable(true) enables it.',
        );
      }
      const txId = this.stateTx(tx);
      await this.options.state.update((s) => ({ ...s, networking: enable }), txId, () => tx.settled, (adopt) =>
        tx.commit(() => {
          adopt();
          this.changed(['networkingEnabled']);
        }),
      );
      if (!enable) await this.options.activations.deactivateAll('networking-off', txId.tx);
      else void this.options.activations.autoconnectAll();
    });
  }

  /** The WirelessEnabled property write: op radio-control, args on/off. */
  async setWirelessEnabled(ref: CallerRef, signature: string, value: unknown): Promise<void> {
    return this.options.audit.audited(ref, { op: OPERATIONS['Manager.WirelessEnabled'].op, ...onOff(signature, value) }, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.WirelessEnabled']);
      const on = booleanValue('WirelessEnabled', signature, value);
      const was = this.wireless;
      await this.options.state.update((s) => ({ ...s, wireless: on }), this.stateTx(tx), () => tx.settled, (adopt) =>
        tx.commit(() => {
          adopt();
          if (was !== on) this.emit('changed', ['wirelessEnabled']);
        }),
      );
    });
  }

  /**
   * Sleep(b): op sleep-control, args sleep/wake. As in NetworkManager,
   * asking for the state the daemon is in already is an error
   * (AlreadyAsleepOrAwake), recorded as a failed attempt. Going to sleep
   * deactivates everything and refuses activations until woken; waking
   * autoconnects again.
   */
  async sleep(ref: CallerRef, sleep: boolean): Promise<void> {
    return this.options.audit.audited(ref, { op: OPERATIONS['Manager.Sleep'].op, args: sleep ? 'sleep' : 'wake' }, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.Sleep']);
      if (this.sleeping === sleep) {
        throw new NetauditError('AlreadyAsleepOrAwake', sleep ? 'Already asleep: Sleep(false) wakes the daemon.' : 'Already awake: Sleep(true) puts the daemon to sleep.');
      }
      const txId = this.stateTx(tx);
      await this.options.runtimeState.update(() => ({ sleeping: sleep }), txId, () => tx.settled, (adopt) =>
        tx.commit(() => {
          adopt();
          this.changed([]);
        }),
      );
      if (sleep) await this.options.activations.deactivateAll('sleep', txId.tx);
      else void this.options.activations.autoconnectAll();
    });
  }

  /**
   * Reload(u flags): a bitmask of 1 (configuration) and 2 (connection
   * profiles); 0 means both. Every reload also lists the kernel's links
   * again, as a missed event would otherwise stay missed.
   */
  async reload(ref: CallerRef, flags: number): Promise<void> {
    const conf = flags === 0 || (flags & RELOAD_CONF) !== 0;
    const profiles = flags === 0 || (flags & RELOAD_CONNECTIONS) !== 0;
    const known = (flags & ~(RELOAD_CONF | RELOAD_CONNECTIONS)) === 0;
    const args = !known ? String(flags) : conf && profiles ? 'all' : conf ? 'conf' : 'connections';
    return this.options.audit.audited(ref, { op: OPERATIONS['Manager.Reload'].op, args }, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.Reload']);
      if (!known) {
        throw new NetauditError('InvalidArgument', `Reload flags ${flags} are not known: use 0 (everything), 1 (configuration), 2 (connection profiles) or 3 (both).`);
      }
      const prepared = conf ? await this.prepareConfig() : null;
      const txId = tx.commitId();
      const recordAfterApply = prepared?.recordAfterApply ?? false;
      return tx.commit(() => this.applyReload(prepared, profiles, txId, recordAfterApply), { recordAfterApply, kernelChange: true });
    });
  }

  /** SIGHUP: a reload of everything that no caller asked for (op reload, args=sighup). */
  async reloadOnSignal(): Promise<void> {
    const txId = this.options.audit.nextTx();
    await this.options.audit.recordUnattributed({ op: OPERATIONS['Manager.Reload'].op, args: 'sighup', tx: txId }, async () => {
      const prepared = await this.prepareConfig();
      return {
        recordAfterApply: prepared.recordAfterApply,
        commit: () => this.applyReload(prepared, true, txId, prepared.recordAfterApply),
      };
    });
  }

  /**
   * A reload once recorded. The profile edits it finds are recorded with
   * its tx (docs/profile-edits.md) while auditing is as it was: before a
   * configuration that turns auditing off, after one that turns it on.
   */
  private async applyReload(prepared: PreparedConfig | null, profiles: boolean, txId: number, turningOn: boolean): Promise<void> {
    if (turningOn) prepared?.apply();
    if (profiles) await this.options.settings.rescan(txId);
    if (!turningOn) prepared?.apply();
    await this.options.devices.refresh();
  }

  getLogging(): LoggingState {
    const logger = this.options.logger;
    const domains = logger.getDomains();
    const list = domains.length === LOG_DOMAINS.length ? ['ALL'] : [...domains];
    if (!this.options.audit.isEnabled) list.push('AUDIT:OFF');
    return { level: logger.getLevel(), domains: list.join(',') };
  }

  /**
   * SetLogging(level, domains): "" keeps a value. Recorded with args
   * LEVEL:DOMAINS (a level holds no colon), which stays a readable token in
   * every backend. Domains are a comma list of
   * ALL or domain names; the item AUDIT:OFF / AUDIT:ON switches auditing
   * until the next configuration reload.
   */
  async setLogging(ref: CallerRef, level: string, domains: string): Promise<void> {
    return this.options.audit.audited(ref, { op: OPERATIONS['Manager.SetLogging'].op, args: `${level}:${domains}` }, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.SetLogging']);
      const parsed = parseLogging(level, domains);
      return this.commitSwitch(tx, parsed.audit, () => {
        const logger = this.options.logger;
        if (parsed.level) logger.setLevel(parsed.level);
        if (parsed.domains) logger.setDomains(parsed.domains);
        if (parsed.audit !== undefined) this.options.audit.setEnabled(parsed.audit);
      });
    });
  }

  /** The change of kept state `tx` commits, named by its daemon start and commit id (StateStore). */
  private stateTx(tx: AuditTransaction): { boot: string; tx: number } {
    return { boot: this.options.audit.boot, tx: tx.commitId() };
  }

  private async prepareConfig(): Promise<PreparedConfig> {
    let config: Config;
    try {
      config = await this.options.loadConfig();
    } catch (e) {
      throw new NetauditError(
        'Failed',
        `The configuration was not reloaded, the last good one stays in effect: ${(e as Error).message}`,
        'invalid-config',
      );
    }
    return this.options.prepareConfig(config);
  }

  private commitSwitch<T>(tx: AuditTransaction, auditAfter: boolean | undefined, apply: () => T | Promise<T>): Promise<T> {
    const turningOn = auditAfter === true && !this.options.audit.isEnabled;
    return tx.commit(apply, { recordAfterApply: turningOn });
  }
}

export function parseLogging(level: string, domains: string): { level?: LogLevel; domains?: LogDomain[]; audit?: boolean } {
  const out: { level?: LogLevel; domains?: LogDomain[]; audit?: boolean } = {};
  const lvl = level.trim().toUpperCase();
  if (lvl !== '' && lvl !== 'KEEP') {
    const known = LOG_LEVELS.find((l) => l === lvl || (l === 'ERR' && lvl === 'ERROR') || (l === 'WARN' && lvl === 'WARNING'));
    if (!known) throw new NetauditError('InvalidArgument', `Unknown log level ${quote(level)}; use one of ${LOG_LEVELS.join(', ')}.`);
    out.level = known;
  }
  if (domains.trim() === '') return out;
  const chosen = new Set<LogDomain>();
  let named = false;
  for (const raw of domains.split(',')) {
    const item = raw.trim().toUpperCase();
    if (item === '') continue;
    if (item === 'AUDIT:OFF' || item === 'AUDIT:ON') {
      out.audit = item === 'AUDIT:ON';
      continue;
    }
    named = true;
    if (item === 'ALL') {
      for (const d of LOG_DOMAINS) chosen.add(d);
      continue;
    }
    const known = LOG_DOMAINS.find((d) => d === item);
    if (!known) throw new NetauditError('InvalidArgument', `Unknown log domain ${quote(raw.trim())}; use ALL or a comma list of ${LOG_DOMAINS.join(', ')} (AUDIT:OFF/AUDIT:ON switch auditing).`);
    chosen.add(known);
  }
  if (named) out.domains = [...chosen];
  return out;
}

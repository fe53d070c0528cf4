// DeviceList: the devices of the daemon's network namespace, keyed by
// ifindex and kept current from the Platform's link events (no polling).
// It tells its listeners which device came, went, or which of its
// properties changed.
import { EventEmitter } from 'node:events';
import type { DomainLogger } from '../../log/logger.js';
import type { Link, Platform, PlatformEvents } from '../platform/platform.js';
import { Device, type DeviceActivation, type DeviceProperty } from './device.js';
import { quotePath } from '../errors.js';
import type { DeviceSettings } from '../state/daemon-state.js';

export interface DeviceListEvents {
  added: [Device];
  removed: [Device];
  changed: [Device, DeviceProperty[]];
}

export interface DeviceListOptions {
  readonly platform: Platform;
  readonly log: DomainLogger;
  /** the Managed and Autoconnect settings kept for an interface name, if any */
  readonly stored?: (name: string) => DeviceSettings | undefined;
}

export class DeviceList extends EventEmitter<DeviceListEvents> {
  private readonly devices = new Map<number, Device>();
  private readonly platformListeners: { [K in 'link-added' | 'link-changed' | 'link-removed']: (...args: PlatformEvents[K]) => void } = {
    'link-added': (link) => this.put(link),
    'link-changed': (link) => this.put(link),
    'link-removed': (link) => this.remove(link),
  };

  constructor(private readonly options: DeviceListOptions) {
    super();
  }

  /** Follows the platform's events, then takes its links (subscribing first, nothing is missed). */
  async load(): Promise<void> {
    const { platform } = this.options;
    platform.on('link-added', this.platformListeners['link-added']);
    platform.on('link-changed', this.platformListeners['link-changed']);
    platform.on('link-removed', this.platformListeners['link-removed']);
    for (const link of await platform.links()) this.put(link);
  }

  /** Stops following the platform. */
  close(): void {
    const { platform } = this.options;
    platform.off('link-added', this.platformListeners['link-added']);
    platform.off('link-changed', this.platformListeners['link-changed']);
    platform.off('link-removed', this.platformListeners['link-removed']);
  }

  /** Asks the kernel for its links again (Reload): what changed meanwhile is announced as usual. */
  refresh(): Promise<void> {
    return this.options.platform.refresh();
  }

  /** The devices by ifindex. */
  list(): Device[] {
    return [...this.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
  }

  byIfindex(ifindex: number): Device | undefined {
    return this.devices.get(ifindex);
  }

  byName(name: string): Device | undefined {
    for (const device of this.devices.values()) if (device.name === name) return device;
    return undefined;
  }

  /** Applies a caller's setting to `device` and announces what it changed. */
  configure(device: Device, setting: { managed: boolean } | { autoconnect: boolean }): void {
    const changed = 'managed' in setting ? device.setManaged(setting.managed) : device.setAutoconnect(setting.autoconnect);
    if (changed.length > 0) this.emit('changed', device, changed);
  }

  /** Sets or clears what runs on `device` and announces what it changed. */
  setActivation(device: Device, activation: DeviceActivation | null): void {
    const changed = device.setActivation(activation);
    if (changed.length > 0) this.emit('changed', device, changed);
  }

  /**
   * Asks the kernel to delete the device's link; rejects with the kernel's
   * refusal. The device leaves the list when the kernel's event says so.
   */
  deleteLink(device: Device): Promise<void> {
    return this.options.platform.deleteLink(device.ifindex);
  }

  private put(link: Link): void {
    const known = this.devices.get(link.ifindex);
    if (!known) {
      const device = new Device(link);
      device.applyStored(this.options.stored?.(link.name));
      this.devices.set(link.ifindex, device);
      this.options.log.info(`device ${quotePath(device.name)} (ifindex ${device.ifindex}, ${device.type}) appeared`);
      this.emit('added', device);
      return;
    }
    const before = known.name;
    const changed = known.update(link);
    if (changed.includes('name')) {
      // Settings go with the name: a renamed link takes those of its new name.
      for (const p of known.applyStored(this.options.stored?.(link.name))) if (!changed.includes(p)) changed.push(p);
    }
    if (changed.length === 0) return;
    if (changed.includes('name')) this.options.log.info(`device ${quotePath(before)} (ifindex ${known.ifindex}) is now ${quotePath(known.name)}`);
    this.emit('changed', known, changed);
  }

  private remove(link: Link): void {
    const device = this.devices.get(link.ifindex);
    if (!device) return;
    this.devices.delete(link.ifindex);
    this.options.log.info(`device ${quotePath(device.name)} (ifindex ${device.ifindex}) disappeared`);
    this.emit('removed', device);
  }
}

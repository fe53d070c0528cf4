// Device: one kernel link as NetworkManager users know it (docs/api.md, Device).
// Its identity is the ifindex: a renamed link is the same device.
import { ARPHRD_ETHER, ARPHRD_LOOPBACK, type Link } from '../platform/platform.js';

/** NetworkManager's NMDeviceState values this daemon uses. */
export const DEVICE_STATE = {
  unmanaged: 10,
  unavailable: 20,
  disconnected: 30,
  prepare: 40,
  config: 50,
  ipConfig: 70,
  activated: 100,
  deactivating: 110,
} as const;

/** What runs on a device: the active connection's number and the device state it puts the device in. */
export interface DeviceActivation {
  readonly active: number;
  readonly state: number;
}

export type DeviceProperty = 'name' | 'type' | 'state' | 'mtu' | 'hwAddress' | 'managed' | 'autoconnect' | 'activeConnection';

/**
 * NetworkManager's device type names: the link kind for software links
 * (veth, bridge, macvlan, vxlan, tun…), `loopback`, `ethernet` for an
 * ethernet link without a kind, `generic` for anything else.
 */
export function deviceType(link: Link): string {
  if (link.arphrd === ARPHRD_LOOPBACK) return 'loopback';
  if (link.kind) return link.kind;
  return link.arphrd === ARPHRD_ETHER ? 'ethernet' : 'generic';
}

export class Device {
  readonly ifindex: number;
  private current: Link;
  /**
   * What a caller set through the Managed and Autoconnect properties; null
   * keeps the default. Kept by interface name in state-dir (DeviceList
   * applies them when a link with that name appears).
   */
  private managedSetting: boolean | null = null;
  private autoconnectSetting = true;
  private activationValue: DeviceActivation | null = null;

  constructor(link: Link) {
    this.ifindex = link.ifindex;
    this.current = link;
  }

  /** The link as the kernel last described it. */
  get link(): Link {
    return this.current;
  }

  get name(): string {
    return this.current.name;
  }

  get type(): string {
    return deviceType(this.current);
  }

  /** The kernel's link kind (veth, bridge, macvlan, vxlan…): set for a software link, null for hardware and the loopback. */
  get kind(): string | null {
    return this.current.arphrd === ARPHRD_LOOPBACK ? null : this.current.kind;
  }

  /** By default the loopback is not managed (as in NetworkManager); a caller may say otherwise. */
  get managed(): boolean {
    return this.managedSetting ?? this.type !== 'loopback';
  }

  get autoconnect(): boolean {
    return this.autoconnectSetting;
  }

  /** The number of the active connection on it, or null. */
  get activeConnection(): number | null {
    return this.activationValue?.active ?? null;
  }

  /**
   * With an activation, its state (prepare … activated, deactivating).
   * Without: unmanaged (not managed), unavailable (no carrier: IFF_LOWER_UP
   * clear, which includes a link that is down) or disconnected (carrier,
   * nothing active on it).
   */
  get state(): number {
    if (this.activationValue) return this.activationValue.state;
    if (!this.managed) return DEVICE_STATE.unmanaged;
    return this.current.lowerUp ? DEVICE_STATE.disconnected : DEVICE_STATE.unavailable;
  }

  get mtu(): number {
    return this.current.mtu;
  }

  /** Upper-case colon hex as NetworkManager shows it; '' without one. */
  get hwAddress(): string {
    return this.current.hwAddress.toUpperCase();
  }

  /** Takes the link's new state; returns the properties whose value changed. */
  update(link: Link): DeviceProperty[] {
    return this.changing(() => {
      this.current = link;
    });
  }

  /** Sets Managed; returns the properties whose value changed (State follows it). */
  setManaged(managed: boolean): DeviceProperty[] {
    return this.changing(() => {
      this.managedSetting = managed;
    });
  }

  setAutoconnect(autoconnect: boolean): DeviceProperty[] {
    return this.changing(() => {
      this.autoconnectSetting = autoconnect;
    });
  }

  /** Takes the settings kept for its name (none: the defaults); returns the properties whose value changed. */
  applyStored(settings: { readonly managed?: boolean; readonly autoconnect?: boolean } | undefined): DeviceProperty[] {
    return this.changing(() => {
      this.managedSetting = settings?.managed ?? null;
      this.autoconnectSetting = settings?.autoconnect ?? true;
    });
  }

  /** Sets or clears what runs on the device; returns the properties whose value changed. */
  setActivation(activation: DeviceActivation | null): DeviceProperty[] {
    return this.changing(() => {
      this.activationValue = activation;
    });
  }

  private changing(change: () => void): DeviceProperty[] {
    const before = this.snapshot();
    change();
    const after = this.snapshot();
    return (Object.keys(after) as DeviceProperty[]).filter((k) => before[k] !== after[k]);
  }

  private snapshot(): Record<DeviceProperty, string | number | boolean> {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      mtu: this.mtu,
      hwAddress: this.hwAddress,
      managed: this.managed,
      autoconnect: this.autoconnect,
      activeConnection: this.activeConnection ?? 0,
    };
  }
}

// DeviceOps: the audited changes a caller makes to a device through its
// writable properties, Managed and Autoconnect (SPEC §2 Device, §4 ops
// device-managed and device-autoconnect). Each runs in SPEC §2's order:
// authorization → the value's type → the device still exists → the change,
// committed by its record. The values live in memory only for now:
// persisting device settings is a later concern.
import type { AuditManager } from '../audit/audit-manager.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { CallerRef } from '../caller.js';
import { NetauditError } from '../errors.js';
import { booleanValue, onOff } from '../property-value.js';
import type { DeviceList } from './device-list.js';

export interface DeviceOpsOptions {
  readonly audit: AuditManager;
  readonly auth: () => Authorizer;
  readonly devices: DeviceList;
}

type Setting = 'managed' | 'autoconnect';

const PROPERTY: Record<Setting, { op: 'device-managed' | 'device-autoconnect'; name: string }> = {
  managed: { op: 'device-managed', name: 'Managed' },
  autoconnect: { op: 'device-autoconnect', name: 'Autoconnect' },
};

export class DeviceOps {
  constructor(private readonly options: DeviceOpsOptions) {}

  /** Managed = value on the device with `ifindex` (`signature`: the variant's, checked here). */
  setManaged(ref: CallerRef, ifindex: number, signature: string, value: unknown): Promise<void> {
    return this.set(ref, 'managed', ifindex, signature, value);
  }

  setAutoconnect(ref: CallerRef, ifindex: number, signature: string, value: unknown): Promise<void> {
    return this.set(ref, 'autoconnect', ifindex, signature, value);
  }

  private set(ref: CallerRef, setting: Setting, ifindex: number, signature: string, value: unknown): Promise<void> {
    const { audit, auth, devices } = this.options;
    const { op, name } = PROPERTY[setting];
    const known = devices.byIfindex(ifindex);
    const context = { op, ifindex, ...(known ? { iface: known.name } : {}), ...onOff(signature, value) };
    return audit.audited(ref, context, async (tx) => {
      await auth().require(tx.caller, 'org.netaudit1.network-control');
      const on = booleanValue(name, signature, value);
      // Re-checked after authorization: the link may have gone meanwhile.
      const device = devices.byIfindex(ifindex);
      if (!device) {
        throw new NetauditError('UnknownDevice', `No device has ifindex ${ifindex} (it may have been removed); GetDevices lists them.`);
      }
      tx.describe({ iface: device.name });
      await tx.commit(() => devices.configure(device, setting === 'managed' ? { managed: on } : { autoconnect: on }));
    });
  }
}

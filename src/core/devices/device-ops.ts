// DeviceOps: the audited changes a caller makes to a device — its writable
// properties, Managed and Autoconnect, and Delete (docs/api.md Device; ops
// device-managed, device-autoconnect and device-delete). Each runs in the
// order of docs/api.md: authorization → the value's type → the device still exists
// (and, for Delete, is a software link) → the change, committed by its
// record. Managed and Autoconnect are kept in state-dir by interface name,
// committed by the record (StateStore), so that no restart undoes them.
import type { AuditManager } from '../audit/audit-manager.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { CallerRef } from '../caller.js';
import { NetauditError, quote } from '../errors.js';
import { authorize, OPERATIONS } from '../operations.js';
import { KernelRefusal } from '../platform/platform.js';
import { booleanValue, onOff } from '../property-value.js';
import type { Device } from './device.js';
import type { DeviceList } from './device-list.js';
import { withDeviceSetting, type PersistentState } from '../state/daemon-state.js';
import type { StateStore } from '../state/state-store.js';

export interface DeviceOpsOptions {
  readonly audit: AuditManager;
  readonly auth: () => Authorizer;
  readonly devices: DeviceList;
  readonly state: StateStore<PersistentState>;
}

type Setting = 'managed' | 'autoconnect';

const PROPERTY = {
  managed: { operation: OPERATIONS['Device.Managed'], name: 'Managed' },
  autoconnect: { operation: OPERATIONS['Device.Autoconnect'], name: 'Autoconnect' },
} as const satisfies Record<Setting, unknown>;

export class DeviceOps {
  constructor(private readonly options: DeviceOpsOptions) {}

  /** Managed = value on the device with `ifindex` (`signature`: the variant's, checked here). */
  setManaged(ref: CallerRef, ifindex: number, signature: string, value: unknown): Promise<void> {
    return this.set(ref, 'managed', ifindex, signature, value);
  }

  setAutoconnect(ref: CallerRef, ifindex: number, signature: string, value: unknown): Promise<void> {
    return this.set(ref, 'autoconnect', ifindex, signature, value);
  }

  /**
   * Device.Delete: deletes a software link (one the kernel reports with a
   * kind: veth, bridge, macvlan, vxlan…); a hardware link or the loopback is
   * NotSupported, as in NetworkManager. Authorized by network-control, as
   * NetworkManager's Delete is. Deleting a veth deletes its peer too (the
   * kernel does): one attempt, one record naming the link asked for.
   *
   * A kernel change: its success record is made before the request, and a
   * kernel refusal (EBUSY, or the link gone meanwhile: UnknownDevice)
   * overturns it with a fail record (CommitOptions.kernelChange).
   */
  delete(ref: CallerRef, ifindex: number): Promise<void> {
    const { audit, auth, devices } = this.options;
    const known = devices.byIfindex(ifindex);
    const context = { op: OPERATIONS['Device.Delete'].op, ifindex, ...(known ? { iface: known.name } : {}) };
    return audit.audited(ref, context, async (tx) => {
      await authorize(auth(), tx, OPERATIONS['Device.Delete']);
      const device = this.existing(ifindex);
      tx.describe({ iface: device.name });
      if (device.kind === null) {
        throw new NetauditError(
          'NotSupported',
          `${quote(device.name)} (ifindex ${ifindex}) is ${device.type === 'loopback' ? 'the loopback' : 'a hardware link'}: only software links (veth, bridge, macvlan, vxlan…) can be deleted.`,
        );
      }
      await tx.commit(() => this.deleteLink(device), { kernelChange: true });
    });
  }

  private async deleteLink(device: Device): Promise<void> {
    try {
      await this.options.devices.deleteLink(device);
    } catch (e) {
      if (!(e instanceof KernelRefusal)) throw e;
      const name = `${quote(device.name)} (ifindex ${device.ifindex})`;
      if (e.code === 'ENODEV') {
        throw new NetauditError('UnknownDevice', `The link ${name} was removed before it could be deleted; GetDevices lists the devices.`);
      }
      if (e.code === 'EOPNOTSUPP') {
        throw new NetauditError('NotSupported', `The kernel cannot delete the link ${name}: ${e.detail ?? e.code}.`);
      }
      throw new NetauditError('Failed', `The kernel refused to delete the link ${name}: ${e.code}${e.detail ? ` (${e.detail})` : ''}.`, 'kernel-error');
    }
  }

  private existing(ifindex: number): Device {
    // Re-checked after authorization: the link may have gone meanwhile.
    const device = this.options.devices.byIfindex(ifindex);
    if (!device) {
      throw new NetauditError('UnknownDevice', `No device has ifindex ${ifindex} (it may have been removed); GetDevices lists them.`);
    }
    return device;
  }

  private set(ref: CallerRef, setting: Setting, ifindex: number, signature: string, value: unknown): Promise<void> {
    const { audit, auth, devices } = this.options;
    const { operation, name } = PROPERTY[setting];
    const known = devices.byIfindex(ifindex);
    const context = { op: operation.op, ifindex, ...(known ? { iface: known.name } : {}), ...onOff(signature, value) };
    return audit.audited(ref, context, async (tx) => {
      await authorize(auth(), tx, operation);
      const on = booleanValue(name, signature, value);
      const device = this.existing(ifindex);
      tx.describe({ iface: device.name });
      const txId = tx.commitId();
      const change = setting === 'managed' ? { managed: on } : { autoconnect: on };
      await this.options.state.update(
        (s) => withDeviceSetting(s, device.name, change),
        { boot: audit.boot, tx: txId },
        () => tx.settled,
        (adopt) =>
          tx.commit(() => {
            adopt();
            devices.configure(device, change);
          }),
      );
    });
  }
}

// BusConnection: connects to the system bus (or --bus-address), exports our
// objects, and only then requests the name, so that no early caller meets
// an object that does not exist yet.
import { createRequire } from 'node:module';
import dbus from 'dbus-next';
import type { AuditManager } from '../core/audit/audit-manager.js';
import type { DeviceList, DeviceListEvents } from '../core/devices/device-list.js';
import type { Manager, ManagerEvents } from '../core/manager.js';
import type { SettingsConnection } from '../core/settings/connection.js';
import type { SettingsService } from '../core/settings/settings.js';
import type { DomainLogger } from '../log/logger.js';
import type { Activations, ActivationsEvents } from '../core/activation/activations.js';
import { ACTIVE_IFACE, ACTIVE_PREFIX, activeInterface, activePath } from './active-iface.js';
import { BusCallers } from './caller.js';
import { CONNECTION_IFACE, CONNECTIONS_PREFIX, connectionInterface, connectionPath } from './connection-iface.js';
import { DEVICE_IFACE, DEVICE_PROPERTY_NAMES, DEVICES_PREFIX, deviceInterface, devicePath } from './device-iface.js';
import { DHCP4_CONFIG_PREFIX, DHCP6_CONFIG_PREFIX, IP4_CONFIG_PREFIX, IP6_CONFIG_PREFIX, dhcpConfigInterface, ipConfigInterface } from './ip-config-iface.js';
import { Dispatcher, UNREADABLE } from './dispatcher.js';
import { MANAGER_IFACE, MANAGER_PATH, MANAGER_PROPERTY_NAMES, managerObject } from './manager-iface.js';
import { ObjectTree, type BusObject } from './object-tree.js';
import { SETTINGS_IFACE, SETTINGS_PATH, settingsObject } from './settings-iface.js';
import { SignalEmitter } from './signals.js';
import { marshallMessage } from './wire.js';

export const BUS_NAME = 'org.netaudit1';
const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

export interface BusConnectionOptions {
  readonly address?: string;
  readonly manager: Manager;
  readonly settings: SettingsService;
  readonly devices: DeviceList;
  readonly activations: Activations;
  readonly audit: AuditManager;
  readonly log: DomainLogger;
  /** the connection to the bus was lost: the daemon cannot serve anyone */
  readonly onLost: (reason: string) => void;
}

function connect(address: string): Promise<dbus.MessageBus> {
  return new Promise((resolve, reject) => {
    const bus = dbus.sessionBus({ busAddress: address });
    const onError = (e: unknown): void => reject(new Error(`cannot connect to the bus at ${address}: ${e instanceof Error ? e.message : String(e)}`));
    bus.once('error', onError);
    bus.once('connect', () => {
      bus.removeListener('error', onError);
      resolve(bus);
    });
  });
}

/**
 * Outgoing messages are marshalled by src/bus/wire.ts, which writes dbus-next's bytes at a
 * fraction of its cost; what it leaves alone (undefined) goes through dbus-next as before.
 * dbus-next's own writer checks that the stream is writable and, on a stream that passes
 * unix fds, writes { data, fds }: both are kept by leaving those cases to it.
 */
export function marshalFast(connection: { stream: import('node:net').Socket & { supportsUnixFd?: boolean }; message: (msg: unknown) => void }): void {
  const send = connection.message.bind(connection);
  connection.message = (msg: unknown) => {
    const { stream } = connection;
    const bytes = stream.writable && !stream.supportsUnixFd ? marshallMessage(msg as dbus.Message) : undefined;
    if (bytes) stream.write(bytes);
    else send(msg);
  };
}

/**
 * dbus-next writes each message with its own write(2); a reply, its signals
 * and the calls of one turn of the event loop now leave in one write.
 */
export function coalesceWrites(connection: { stream: import('node:net').Socket; message: (msg: unknown) => void }): void {
  const send = connection.message.bind(connection);
  let corked = false;
  connection.message = (msg: unknown) => {
    if (!corked) {
      corked = true;
      connection.stream.cork();
      setImmediate(() => {
        corked = false;
        connection.stream.uncork();
      });
    }
    send(msg);
  };
}

/** dbus-next's connection under its MessageBus (not part of its API). */
export type LibConnection = { stream: import('node:net').Socket; message: (msg: unknown) => void; emit: (event: 'message', msg: unknown) => boolean };

// dbus-next's own reader of header fields (it has no public one).
const dbusNextLib = createRequire(import.meta.url);
const DBusBuffer = dbusNextLib('dbus-next/lib/dbus-buffer.js') as new (buf: Buffer, start: number, endian: number, fds: null, opts: object) => {
  readArray(type: unknown, length: number): Array<[number, [unknown, [unknown]]]>;
};
const HEADER_FIELDS_TYPE = (dbusNextLib('dbus-next/lib/header-signature.json') as Array<{ child: unknown[] }>)[0]!.child[0];
const HEADER_FIELD_NAMES = (dbusNextLib('dbus-next/lib/constants.js') as { headerTypeName: Array<string | null> }).headerTypeName;

/** The header of a message whose body could not be read: its 16 fixed bytes and what follows them. */
function headerOf(fixed: Buffer, rest: Buffer): Record<string, unknown> {
  const le = fixed[0] === 0x6c;
  const fieldsLength = le ? fixed.readUInt32LE(12) : fixed.readUInt32BE(12);
  const header: Record<string, unknown> = { type: fixed[1], flags: fixed[2], serial: le ? fixed.readUInt32LE(8) : fixed.readUInt32BE(8) };
  for (const [code, [, [value]]] of new DBusBuffer(rest, 0, fixed[0]!, null, {}).readArray(HEADER_FIELDS_TYPE, fieldsLength)) {
    const name = HEADER_FIELD_NAMES[code];
    // unixFd is left out: the message is answered, never read
    if (name && name !== 'unixFd') header[name] = value;
  }
  return header;
}

/**
 * dbus-next reads each message inside the socket's 'readable' listener; a
 * body it cannot read throws there, outside any handler, and ends the
 * process. The bus lets such bodies through: an `h` (unix fd index) with no
 * fd attached is valid on the wire for it. Each listener is guarded: the
 * failed message is handed on with its header, an empty body and the mark
 * UNREADABLE, so that the dispatcher refuses it as a malformed call (and
 * records it when it calls a changing method), and reading goes on
 * (dbus-next had consumed it).
 */
export function surviveUnreadableMessages(connection: LibConnection, log: DomainLogger): void {
  const { stream } = connection;
  const recent: Buffer[] = [];
  let reads = 0;
  const read = stream.read.bind(stream);
  stream.read = (size?: number) => {
    const chunk = read(size) as Buffer | null;
    if (chunk) {
      reads++;
      recent.push(chunk);
      if (recent.length > 2) recent.shift();
    }
    return chunk;
  };
  const unreadable = (e: unknown): void => {
    const [fixed, rest] = recent;
    let header: Record<string, unknown> = {};
    try {
      if (fixed?.length === 16 && rest) header = headerOf(fixed, rest);
    } catch {
      // no header to answer: the message is dropped, the reading goes on
    }
    const reason = e instanceof Error ? e.message : String(e);
    log.warn(`a message from ${JSON.stringify(String(header.sender ?? '?'))} could not be read (${reason}), refusing it`);
    if (header.type !== dbus.MessageType.METHOD_CALL) return;
    try {
      const msg = new dbus.Message({ ...header, body: [] } as unknown as ConstructorParameters<typeof dbus.Message>[0]);
      // dbus-next's reason names no file: "No FDs available" for an `h` without its fd
      Object.assign(msg, { [UNREADABLE]: /^No FDs available$/.test(reason) ? 'a unix fd (type "h") is not accepted' : 'its body is not valid D-Bus data' });
      connection.emit('message', msg);
    } catch (err) {
      log.warn(`the unreadable message could not be refused: ${(err as Error).message}, ignoring`);
    }
  };
  for (const listener of stream.listeners('readable') as Array<(this: unknown) => void>) {
    // the guard is added before the listener goes, so that the stream never counts no reader
    stream.on('readable', () => {
      for (;;) {
        const before = reads;
        try {
          listener.call(stream);
          return;
        } catch (e) {
          unreadable(e);
          if (reads === before) return;
        }
      }
    });
    stream.off('readable', listener);
  }
}

/** Adds the listeners to the device list; returns what removes them. */
function subscribe(devices: DeviceList, listeners: { [K in keyof DeviceListEvents]: (...args: DeviceListEvents[K]) => void }): () => void {
  devices.on('added', listeners.added);
  devices.on('removed', listeners.removed);
  devices.on('changed', listeners.changed);
  return () => {
    devices.off('added', listeners.added);
    devices.off('removed', listeners.removed);
    devices.off('changed', listeners.changed);
  };
}

export class BusConnection {
  private closing = false;
  private dispatcher: Dispatcher | null = null;
  /** the device list and the manager outlive a lost bus connection: their listeners go with the connection */
  private detachCore: () => void = () => undefined;

  private constructor(private readonly bus: dbus.MessageBus) {}

  private lost(options: BusConnectionOptions, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    options.onLost(reason);
  }

  static async open(options: BusConnectionOptions): Promise<BusConnection> {
    const address = options.address ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
    const bus = await connect(address);
    const self = new BusConnection(bus);
    // dbus-next emits 'error' for a message it cannot read as well as for a broken socket;
    // only the socket's close means the bus is gone.
    bus.on('error', (e: unknown) => options.log.warn(`bus connection: ${e instanceof Error ? e.message : String(e)}, ignoring`));
    const connection = (bus as unknown as { _connection: LibConnection })._connection;
    connection.stream.on('close', () => self.lost(options, 'the bus closed the connection'));
    marshalFast(connection);
    coalesceWrites(connection);
    surviveUnreadableMessages(connection, options.log);

    const callers = new BusCallers(bus);
    await callers.start();
    const tree = new ObjectTree();
    const signals = new SignalEmitter(bus, options.log);
    const { settings } = options;
    const manager = managerObject(options.manager);
    const settingsObj = settingsObject(settings);
    tree.add(manager);
    tree.add(settingsObj);
    const connectionObject = (conn: SettingsConnection): BusObject => ({
      path: connectionPath(conn.number),
      interfaces: [connectionInterface(settings, conn.number)],
    });
    tree.addFamily(CONNECTIONS_PREFIX, {
      resolve: (n) => {
        const conn = settings.byObjectNumber(n);
        return conn ? connectionObject(conn) : undefined;
      },
      list: () => settings.list().map((c) => c.number),
      fallback: [connectionInterface(settings, null)],
    });

    settings.on('added', (conn) => {
      signals.emit(SETTINGS_PATH, SETTINGS_IFACE, 'NewConnection', 'o', [connectionPath(conn.number)]);
      signals.propertiesChanged(settingsObj, SETTINGS_IFACE, ['Connections']);
    });
    settings.on('removed', (conn) => {
      const path = connectionPath(conn.number);
      signals.emit(path, CONNECTION_IFACE, 'Removed');
      signals.emit(SETTINGS_PATH, SETTINGS_IFACE, 'ConnectionRemoved', 'o', [path]);
      signals.propertiesChanged(settingsObj, SETTINGS_IFACE, ['Connections']);
    });
    settings.on('updated', (conn) => signals.emit(connectionPath(conn.number), CONNECTION_IFACE, 'Updated'));
    settings.on('changed', (conn, props) => {
      const names = props.map((p) => (p === 'unsaved' ? 'Unsaved' : 'Filename'));
      signals.propertiesChanged(connectionObject(conn), CONNECTION_IFACE, names);
    });

    const { devices } = options;
    /** each device's last announced State, for Device.StateChanged's old_state */
    const deviceStates = new Map<number, number>(devices.list().map((d) => [d.ifindex, d.state]));
    const deviceObject = (ifindex: number): BusObject => ({ path: devicePath(ifindex), interfaces: [deviceInterface(devices, options.manager, ifindex)] });
    tree.addFamily(DEVICES_PREFIX, {
      resolve: (n) => (devices.byIfindex(n) ? deviceObject(n) : undefined),
      list: () => devices.list().map((d) => d.ifindex),
      fallback: [deviceInterface(devices, options.manager, null)],
    });
    const detachDevices = subscribe(devices, {
      added: (device) => {
        signals.emit(MANAGER_PATH, MANAGER_IFACE, 'DeviceAdded', 'o', [devicePath(device.ifindex)]);
        signals.propertiesChanged(manager, MANAGER_IFACE, ['Devices']);
      },
      removed: (device) => {
        deviceStates.delete(device.ifindex);
        signals.emit(MANAGER_PATH, MANAGER_IFACE, 'DeviceRemoved', 'o', [devicePath(device.ifindex)]);
        signals.propertiesChanged(manager, MANAGER_IFACE, ['Devices']);
      },
      changed: (device, props) => {
        signals.propertiesChanged(deviceObject(device.ifindex), DEVICE_IFACE, props.map((p) => DEVICE_PROPERTY_NAMES[p]));
        if (props.includes('state')) {
          const old = deviceStates.get(device.ifindex) ?? 0;
          signals.emit(devicePath(device.ifindex), DEVICE_IFACE, 'StateChanged', 'uuu', [device.state, old, 0]);
        }
        deviceStates.set(device.ifindex, device.state);
      },
    });

    // What runs on each device, by family, and its lease: numbered by the device's ifindex.
    for (const family of [4, 6] as const) {
      const prefix = family === 4 ? IP4_CONFIG_PREFIX : IP6_CONFIG_PREFIX;
      tree.addFamily(prefix, {
        resolve: (n) => (options.manager.ipConfig(n, family) ? { path: `${prefix}${n}`, interfaces: [ipConfigInterface(options.manager, n, family)] } : undefined),
        list: () => devices.list().map((d) => d.ifindex).filter((i) => options.manager.ipConfig(i, family) !== null),
        fallback: [],
      });
    }
    for (const family of [4, 6] as const) {
      const prefix = family === 4 ? DHCP4_CONFIG_PREFIX : DHCP6_CONFIG_PREFIX;
      tree.addFamily(prefix, {
        resolve: (n) => (options.manager.dhcpOptions(n, family) ? { path: `${prefix}${n}`, interfaces: [dhcpConfigInterface(options.manager, n, family)] } : undefined),
        list: () => devices.list().map((d) => d.ifindex).filter((i) => options.manager.dhcpOptions(i, family) !== null),
        fallback: [],
      });
    }

    const activeObject = (number: number): BusObject => ({ path: activePath(number), interfaces: [activeInterface(options.manager, number)] });
    tree.addFamily(ACTIVE_PREFIX, {
      resolve: (n) => (options.manager.activeConnection(n) ? activeObject(n) : undefined),
      list: () => options.manager.activeConnections().map((a) => a.number),
      // nothing to call on an active connection: a vanished one is simply unknown
      fallback: [],
    });
    const activeState = (...[active, state, reason]: ActivationsEvents['state']): void => {
      signals.emit(activePath(active.number), ACTIVE_IFACE, 'StateChanged', 'uu', [state, reason]);
      signals.propertiesChanged(activeObject(active.number), ACTIVE_IFACE, ['State']);
    };
    options.activations.on('state', activeState);

    const managerChanged = (...[props]: ManagerEvents['changed']): void => {
      signals.propertiesChanged(manager, MANAGER_IFACE, props.map((p) => MANAGER_PROPERTY_NAMES[p]));
      if (props.includes('state')) signals.emit(MANAGER_PATH, MANAGER_IFACE, 'StateChanged', 'u', [options.manager.state]);
    };
    options.manager.on('changed', managerChanged);
    self.detachCore = () => {
      detachDevices();
      options.activations.off('state', activeState);
      options.manager.off('changed', managerChanged);
    };

    const dispatcher = new Dispatcher({
      bus,
      tree,
      callers,
      log: options.log,
      rejectMalformed: (caller, op, error) => options.audit.rejected(caller, { op }, error),
    });
    dispatcher.start();
    self.dispatcher = dispatcher;

    const reply = await bus.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE).catch((e: Error) => {
      self.close();
      throw new Error(`cannot own the bus name ${BUS_NAME}: ${e.message} (is the D-Bus policy data/org.netaudit1.conf installed?)`);
    });
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      self.close();
      throw new Error(`the bus name ${BUS_NAME} is owned by another process (is another netauditd running?)`);
    }
    return self;
  }

  /** The connection itself, for the bus clients of the daemon (polkit). */
  get messageBus(): dbus.MessageBus {
    return this.bus;
  }

  close(): void {
    this.closing = true;
    this.detachCore();
    this.dispatcher?.stop();
    this.bus.disconnect();
  }
}

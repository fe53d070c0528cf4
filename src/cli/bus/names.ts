// The daemon's bus names and object paths as netauditctl uses them (docs/api.md).

export const SERVICE = 'org.netaudit1';
export const MANAGER_PATH = '/org/netaudit1';
export const MANAGER_IFACE = 'org.netaudit1.Manager';
export const SETTINGS_PATH = '/org/netaudit1/Settings';
export const SETTINGS_IFACE = 'org.netaudit1.Settings';
export const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';
export const CONNECTION_PREFIX = '/org/netaudit1/Settings/';
export const DEVICE_IFACE = 'org.netaudit1.Device';
export const DEVICE_PREFIX = '/org/netaudit1/Devices/';
export const ACTIVE_IFACE = 'org.netaudit1.Connection.Active';
export const ACTIVE_PREFIX = '/org/netaudit1/ActiveConnection/';
export const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties';
export const ERROR_PREFIX = 'org.netaudit1.Error.';
/** An object path that names nothing, as the daemon takes and gives it. */
export const NO_OBJECT = '/';

/** Where the system bus is when neither --bus-address nor DBUS_SYSTEM_BUS_ADDRESS says. */
export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

// Introspection XML for an object of the ObjectTree, with the standard
// interfaces every object answers.
import type { InterfaceSpec } from './object-tree.js';

const STANDARD = `  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="out"/></method>
    <method name="GetAll"><arg name="interface_name" type="s" direction="in"/><arg name="properties" type="a{sv}" direction="out"/></method>
    <method name="Set"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="in"/></method>
    <signal name="PropertiesChanged"><arg name="interface_name" type="s"/><arg name="changed_properties" type="a{sv}"/><arg name="invalidated_properties" type="as"/></signal>
  </interface>
`;

function arg(name: string, type: string, direction?: 'in' | 'out'): string {
  return `<arg name="${name}" type="${type}"${direction ? ` direction="${direction}"` : ''}/>`;
}

function interfaceXml(iface: InterfaceSpec): string {
  const lines = [`  <interface name="${iface.name}">`];
  for (const m of iface.methods) {
    const args = [...m.in.map(([n, t]) => arg(n, t, 'in')), ...m.out.map(([n, t]) => arg(n, t, 'out'))];
    lines.push(`    <method name="${m.name}">${args.join('')}</method>`);
  }
  for (const p of iface.properties) {
    const access = p.set ? 'readwrite' : 'read';
    lines.push(
      p.emitsChanged === 'invalidates'
        ? `    <property name="${p.name}" type="${p.signature}" access="${access}"><annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="invalidates"/></property>`
        : `    <property name="${p.name}" type="${p.signature}" access="${access}"/>`,
    );
  }
  for (const s of iface.signals) lines.push(`    <signal name="${s.name}">${s.args.map(([n, t]) => arg(n, t)).join('')}</signal>`);
  lines.push('  </interface>');
  return `${lines.join('\n')}\n`;
}

export function introspect(interfaces: readonly InterfaceSpec[] | null, children: readonly string[]): string {
  const body = interfaces === null ? '' : STANDARD + interfaces.map(interfaceXml).join('');
  const nodes = children.map((c) => `  <node name="${c}"/>\n`).join('');
  return `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
${body}${nodes}</node>
`;
}

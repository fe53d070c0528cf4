// The part of SettingsService that Activations uses, over profiles kept in memory: shared by the
// activation and Reapply unit tests.
import { EventEmitter } from 'node:events';
import { NetauditError } from '../../../../src/core/errors.js';
import { SettingsConnection } from '../../../../src/core/settings/connection.js';
import type { Settings } from '../../../../src/core/settings/value.js';

export class MemorySettings extends EventEmitter {
  readonly conns: SettingsConnection[] = [];
  add(settings: Settings): SettingsConnection {
    const conn = new SettingsConnection(this.conns.length + 1, settings, new Map(), null, false);
    this.conns.push(conn);
    return conn;
  }
  list(): SettingsConnection[] {
    return this.conns;
  }
  byObjectNumber(n: number): SettingsConnection | undefined {
    return this.conns.find((c) => c.number === n);
  }
  getByUuid(uuid: string): SettingsConnection {
    const conn = this.conns.find((c) => c.uuid === uuid);
    if (!conn) throw new NetauditError('UnknownConnection', 'no such uuid');
    return conn;
  }
}

// SettingsConnection: one connection profile as the daemon holds it — its
// full settings (secrets included), the keys on disk we do not know, and
// where it lives on disk, if anywhere.
import type { ExtraKeys } from './keyfile-reader.js';
import type { Hold } from './stored-profile.js';
import { getString, type Settings } from './value.js';

export class SettingsConnection {
  constructor(
    /** stable for the daemon's lifetime; the bus makes /org/netaudit1/Settings/N of it */
    readonly number: number,
    public settings: Settings,
    public extra: ExtraKeys,
    /** file name in the profiles directory; null while the profile was never saved */
    public fileName: string | null,
    /** in-memory changes not written to disk */
    public unsaved: boolean,
  ) {}

  /** values NetworkManager accepts and netauditd does not, kept from the file: activating is NotSupported */
  holds: readonly Hold[] = [];

  get uuid(): string {
    return getString(this.settings, 'connection', 'uuid') ?? '';
  }

  get id(): string {
    return getString(this.settings, 'connection', 'id') ?? '';
  }
}

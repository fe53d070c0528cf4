// A profile's settings as netauditctl handles them: NetworkManager's
// a{sa{sv}} (setting → property → value) with each value's D-Bus signature,
// free of any D-Bus library type, so that parsing and showing them is pure.
//   s → string, b → boolean, u/i → number, ay → Uint8Array, as → string[],
//   au → number[], aay → Uint8Array[], aa{sv} → Array<Record<string, Typed>>.

export interface Typed {
  readonly signature: string;
  readonly value: unknown;
}

export type ProfileSettings = Map<string, Map<string, Typed>>;

export function typed(signature: string, value: unknown): Typed {
  return { signature, value };
}

export function cloneProfile(settings: ProfileSettings): ProfileSettings {
  return new Map([...settings].map(([name, props]) => [name, new Map(props)]));
}

export function stringOf(settings: ProfileSettings, setting: string, property: string): string | undefined {
  const v = settings.get(setting)?.get(property)?.value;
  return typeof v === 'string' ? v : undefined;
}

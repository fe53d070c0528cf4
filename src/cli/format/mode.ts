// The mode a command shows its results in when the user gave no -m: tables
// for lists, `FIELD: value` lines for one object's details (nmcli's choice).
import type { OutputOptions } from './render.js';

export function withDefaultMode(output: OutputOptions, mode: OutputOptions['mode']): OutputOptions {
  return output.modeGiven ? output : { ...output, mode };
}

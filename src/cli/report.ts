// What a command that changes something says when it succeeded: a sentence
// for people (nmcli's "Connection 'x' (uuid) successfully added."), or with
// --json one JSON object for scripts. Names in the sentence are escaped.
import type { CliContext } from './context.js';
import { escapeControls, safeJson } from './format/escape.js';

export function report(context: CliContext, sentence: string, json: Readonly<Record<string, unknown>>): void {
  process.stdout.write(context.output.json ? `${safeJson(json)}\n` : `${escapeControls(sentence)}\n`);
}

/** A name quoted for a sentence, nmcli's way: 'name'. */
export function quoted(name: string): string {
  return `'${name}'`;
}

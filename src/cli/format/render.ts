// Rendering of netauditctl's results, nmcli's way: aligned tables for people
// (-m tabular), `FIELD: value` lines (-m multiline), ':'-joined fields without
// a header (-t), bare values (-g), and JSON lines (--json) for scripts. Every
// value is escaped here (escape.ts): commands hand over raw daemon values.
import { UsageError } from '../exit-codes.js';
import { paint, type Color } from './color.js';
import { escapeControls, escapeTerse, safeJson } from './escape.js';
import { displayWidth } from './width.js';

/** How results are shown; made by main.ts from the global options. */
export interface OutputOptions {
  readonly mode: 'tabular' | 'multiline';
  readonly modeGiven: boolean;
  readonly terse: boolean;
  readonly fields: readonly string[] | null;
  readonly getValues: boolean;
  readonly escape: boolean;
  readonly color: boolean;
  readonly json: boolean;
  readonly pretty: boolean;
}

export interface Column {
  readonly name: string;
  readonly default?: boolean;
  readonly width?: number;
  readonly colorOf?: (value: unknown) => Color | null;
}

export type Cell = string | number | boolean | null | readonly string[];

export interface RowWriter {
  row(values: Readonly<Record<string, Cell>>): void;
  end(): void;
}

const SEPARATOR = '  ';
/** What people see for a missing value (nmcli's "--"). */
const EMPTY = '--';

/** The columns -f (or -g) picks, in its order; 'all' and 'common' expand. */
export function selectColumns(columns: readonly Column[], fields: readonly string[] | null): Column[] {
  if (fields === null) return columns.filter((c) => c.default !== false);
  const chosen: Column[] = [];
  for (const field of fields) {
    const wanted = field.trim();
    if (wanted === '') continue;
    if (wanted.toLowerCase() === 'all') chosen.push(...columns);
    else if (wanted.toLowerCase() === 'common') chosen.push(...columns.filter((c) => c.default !== false));
    else {
      const column = columns.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
      if (column === undefined) {
        throw new UsageError(
          `invalid field ${JSON.stringify(escapeControls(wanted))}; allowed fields: ${columns.map((c) => c.name).join(',')}`,
          'Usage: netauditctl [OPTION]... OBJECT COMMAND [ARGUMENT]...',
          'netauditctl --help',
        );
      }
      chosen.push(column);
    }
  }
  if (chosen.length === 0) return columns.filter((c) => c.default !== false);
  return chosen;
}

function isList(value: Cell | undefined): value is readonly string[] {
  return Array.isArray(value);
}

function scalarText(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** A value for people: escaped controls, '--' when missing. */
function humanText(value: Cell | undefined): string {
  if (value === null || value === undefined) return EMPTY;
  if (isList(value)) return value.length === 0 ? EMPTY : value.map((v) => escapeControls(v)).join(', ');
  const text = escapeControls(scalarText(value));
  return text === '' ? EMPTY : text;
}

/** A value for scripts (-t, -g): empty when missing, ':' and '\' escaped (and ',' inside lists). */
function terseText(value: Cell | undefined, escape: boolean): string {
  if (value === null || value === undefined) return '';
  if (isList(value)) return value.map((v) => (escape ? escapeTerse(v, ',') : escapeControls(v))).join(',');
  const text = scalarText(value);
  return escape ? escapeTerse(text) : escapeControls(text);
}

function jsonValue(value: Cell | undefined): unknown {
  return value === undefined ? null : value;
}

function pad(text: string, width: number): string {
  const gap = width - displayWidth(text);
  return gap > 0 ? text + ' '.repeat(gap) : text;
}

function colorOf(column: Column, value: Cell | undefined, enabled: boolean): Color | null {
  return enabled && column.colorOf !== undefined ? column.colorOf(value ?? null) : null;
}

/** Streams rows: tabular mode buffers to align unless every shown column has a width; json and terse never buffer. */
export function createRowWriter(columns: readonly Column[], options: OutputOptions, out: NodeJS.WritableStream = process.stdout): RowWriter {
  const shown = selectColumns(columns, options.fields);
  const write = (text: string): void => {
    out.write(text);
  };

  if (options.json) {
    return {
      row(values) {
        const object: Record<string, unknown> = {};
        for (const column of shown) object[column.name.toLowerCase()] = jsonValue(values[column.name]);
        write(`${safeJson(object)}\n`);
      },
      end() {},
    };
  }

  const terse = options.terse || options.getValues;
  if (options.mode === 'multiline') {
    const labelWidth = Math.max(...shown.map((c) => displayWidth(c.name))) + 8;
    return {
      row(values) {
        let text = '';
        for (const column of shown) {
          const value = values[column.name];
          // -g: each field's value on a line of its own, a list on one line (nmcli).
          if (options.getValues) {
            text += `${terseText(value, options.escape)}\n`;
            continue;
          }
          const entries: [string, Cell | undefined][] =
            isList(value) && value.length > 0 ? value.map((v, i) => [`${column.name}[${i + 1}]`, v]) : [[column.name, value]];
          for (const [label, entry] of entries) {
            if (terse) text += `${label}:${terseText(entry, options.escape)}\n`;
            else text += `${pad(`${label}:`, labelWidth)}${paint(humanText(entry), colorOf(column, entry, options.color))}\n`;
          }
        }
        write(text);
      },
      end() {},
    };
  }

  if (terse) {
    return {
      row(values) {
        write(`${shown.map((c) => terseText(values[c.name], options.escape)).join(':')}\n`);
      },
      end() {},
    };
  }

  // Tabular for people: a header, then aligned rows.
  const line = (cells: readonly string[], widths: readonly number[], colors: readonly (Color | null)[]): string =>
    `${cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        const gap = last ? '' : ' '.repeat(Math.max(widths[i]! - displayWidth(cell), 0));
        return paint(cell, colors[i] ?? null) + gap;
      })
      .join(SEPARATOR)}\n`;
  const header = shown.map((c) => c.name);
  const noColors = shown.map(() => null);
  const headerLines = (widths: readonly number[]): string =>
    line(header, widths, noColors) + (options.pretty ? `${'-'.repeat(widths.reduce((a, b) => a + b, 0) + SEPARATOR.length * (widths.length - 1))}\n` : '');

  if (shown.every((c) => c.width !== undefined)) {
    const widths = shown.map((c) => Math.max(c.width!, displayWidth(c.name)));
    let started = false;
    const start = (): void => {
      if (!started) write(headerLines(widths));
      started = true;
    };
    return {
      row(values) {
        start();
        write(line(shown.map((c) => humanText(values[c.name])), widths, shown.map((c) => colorOf(c, values[c.name], options.color))));
      },
      end() {
        start();
      },
    };
  }

  const rows: { cells: string[]; colors: (Color | null)[] }[] = [];
  return {
    row(values) {
      rows.push({ cells: shown.map((c) => humanText(values[c.name])), colors: shown.map((c) => colorOf(c, values[c.name], options.color)) });
    },
    end() {
      const widths = header.map((name, i) => Math.max(displayWidth(name), ...rows.map((r) => displayWidth(r.cells[i]!))));
      let text = headerLines(widths);
      for (const r of rows) text += line(r.cells, widths, r.colors);
      write(text);
      rows.length = 0;
    },
  };
}

/** Shorthand: writes all rows and ends. */
export function render(columns: readonly Column[], rows: Iterable<Readonly<Record<string, Cell>>>, options: OutputOptions, out?: NodeJS.WritableStream): void {
  const writer = createRowWriter(columns, options, out);
  for (const row of rows) writer.row(row);
  writer.end();
}

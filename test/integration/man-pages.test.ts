// The man pages in man/ against the code: each renders with man(1) without a warning, every
// option the daemon accepts is in netauditd(8) and every option there is accepted, and every key
// of the configuration schema is in netauditd.conf(5) with its default and when it takes effect,
// and no other key is. netauditctl(1) against the client's help at every level: every object,
// command and option the help names is in the page, in its section, every option the page names is
// one the help names, and every exit code the client defines is listed with its number.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { CONFIG_KEYS, type ConfigKey } from '../../src/config/schema.js';
import { run } from '../helpers/exec.js';
import { daemonMain } from '../helpers/daemon.js';
import { repoPath } from '../helpers/repo.js';

const PAGES = ['netauditd.8', 'netauditd.conf.5', 'netauditctl.1'];

/** The page as man(1) shows it, wide enough that no line is broken, without hyphenation. */
async function rendered(page: string): Promise<string> {
  const { code, stdout, stderr } = await run('man', ['--warnings', '-l', repoPath('man', page)], {
    env: { MANWIDTH: '250', MAN_KEEP_FORMATTING: '', MANPAGER: 'cat', PAGER: 'cat', GROFF_NO_SGR: '1' },
  });
  expect({ page, code, stderr }).toEqual({ page, code: 0, stderr: '' });
  // Overstrike (bold, underline) out; the non-breaking and soft hyphens groff prints back to '-'.
  return stdout.replace(/.\x08/g, '').replace(/[\u2010\u2011\u00ad]/g, '-');
}

/** The lines of the section headed `title` (a line of its own, flush left) up to the next one. */
function section(text: string, title: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(title);
  expect(start, `no section ${title}`).toBeGreaterThan(-1);
  const end = lines.findIndex((line, i) => i > start && /^\S/.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** Long options named in `text`. */
function longOptions(text: string): Set<string> {
  return new Set(text.match(/--[a-z][a-z-]*/g) ?? []);
}

/** Short options named in `text`: -t, not the -1h of a time nor the -PROPERTY of modify. */
function shortOptions(text: string): Set<string> {
  return new Set(text.match(/(?<![\w-])-[a-zA-Z](?![\w-])/g) ?? []);
}

describe.each(PAGES)('man/%s', (page) => {
  it('renders with man without a warning', async () => {
    const text = await rendered(page);
    expect(text.length).toBeGreaterThan(1000);
  });
});

describe('netauditd(8)', () => {
  it('documents every option the daemon accepts, and no other', async () => {
    const help = await run(process.execPath, [daemonMain, '--help']);
    expect(help.code).toBe(0);
    const accepted = longOptions(help.stdout);
    expect([...accepted].sort()).toEqual(['--bus-address', '--config', '--help', '--log-file', '--version']);
    const options = section(await rendered('netauditd.8'), 'OPTIONS');
    expect([...longOptions(options)].sort()).toEqual([...accepted].sort());
    // Short options too.
    expect(options.match(/(?<![\w-])-[a-zA-Z]\b/g)?.sort()).toEqual(help.stdout.match(/(?<![\w-])-[a-zA-Z]\b/g)?.sort());
    // And an option the page names is one the daemon takes.
    for (const option of longOptions(options)) {
      const { stderr } = await run(process.execPath, [daemonMain, option, ...(['--help', '--version'].includes(option) ? [] : ['x']), '--help']);
      expect(stderr, option).toBe('');
    }
  });

  it('has the sections an administrator looks for', async () => {
    const text = await rendered('netauditd.8');
    for (const title of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'SIGNALS', 'FILES', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO']) {
      expect(text.split('\n'), title).toContain(title);
    }
    for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT']) expect(section(text, 'SIGNALS')).toContain(signal);
  });
});

describe('netauditd.conf(5)', () => {
  function shown(key: ConfigKey): string {
    const value = key.defaultValue as unknown;
    if (Array.isArray(value)) return key.name === 'domains' ? 'ALL' : value.join(',');
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    return String(value);
  }

  it('documents every key with its default and when it takes effect', async () => {
    const text = await rendered('netauditd.conf.5');
    for (const key of CONFIG_KEYS) {
      const group = section(text, `[${key.group}]`);
      // "       name=VALUE" starts the key's paragraph; its text runs to the next such line.
      const paragraph = new RegExp(`^ {7}${key.name}=.*\\n((?: {14}.*\\n|\\n)*)`, 'm').exec(`${group}\n`);
      expect(paragraph, `${key.group}.${key.name}`).not.toBeNull();
      const body = paragraph![0].replace(/\s+/g, ' ');
      expect(body, `${key.group}.${key.name}`).toContain(`Default: ${shown(key)}.`);
      expect(body, `${key.group}.${key.name}`).toContain(key.applies === 'live' ? 'At once' : 'At the next start');
    }
  });

  it('documents no key the daemon does not take', async () => {
    const text = await rendered('netauditd.conf.5');
    for (const group of new Set(CONFIG_KEYS.map((k) => k.group))) {
      const documented = [...section(text, `[${group}]`).matchAll(/^ {7}([a-z-]+)=/gm)].map((m) => m[1]);
      expect(documented.sort(), group).toEqual(CONFIG_KEYS.filter((k) => k.group === group).map((k) => k.name).sort());
    }
  });

  it('agrees with data/netauditd.conf, which shows every key commented out with its default', async () => {
    const sample = await readFile(repoPath('data', 'netauditd.conf'), 'utf8');
    const keys = [...sample.matchAll(/^#([a-z-]+)=(.*)$/gm)].map((m) => `${m[1]}=${m[2]}`);
    expect(keys.sort()).toEqual(CONFIG_KEYS.map((k) => `${k.name}=${shown(k)}`).sort());
  });
});

describe('netauditctl(1)', () => {
  const cliMain = repoPath('dist', 'cli', 'main.js');

  async function help(args: string[]): Promise<string> {
    const { code, stdout, stderr } = await run(process.execPath, [cliMain, ...args, '--help']);
    expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
    return stdout;
  }

  /** The words of the two-column lists of a help text: "  connection  list, show…" → connection. */
  function listed(text: string, heading: RegExp): string[] {
    const lines = text.split('\n');
    const start = lines.findIndex((line) => heading.test(line));
    if (start === -1) return [];
    const words: string[] = [];
    for (const line of lines.slice(start + 1)) {
      const m = /^ {2}([a-z]+(?:, [a-z]+)*) {2,}\S/.exec(line);
      if (m) words.push(...m[1]!.split(', '));
      else if (words.length > 0 && line.trim() === '') break;
    }
    return words;
  }

  interface Help {
    readonly object: string | null;
    readonly command: string | null;
    readonly text: string;
  }

  /** Every help text of the client: main, each object's, each command's; fetched in parallel. */
  async function allHelp(): Promise<Help[]> {
    const main = await help([]);
    const objects = listed(main, /^Objects/);
    expect(objects).toEqual(['general', 'networking', 'radio', 'connection', 'device', 'reload', 'logging', 'audit']);
    const objectHelp = await Promise.all(objects.map(async (object) => ({ object, command: null, text: await help([object]) })));
    const commands = objectHelp.flatMap(({ object, text }) =>
      listed(text, /^(Commands:|Commands on)/).map((command) => ({ object, command })),
    );
    // Objects with commands have them listed; reload and logging take arguments only.
    expect(new Set(commands.map((c) => c.object))).toEqual(new Set(['general', 'networking', 'radio', 'connection', 'device', 'audit']));
    const commandHelp = await Promise.all(commands.map(async ({ object, command }) => ({ object, command, text: await help([object, command]) })));
    return [{ object: null, command: null, text: main }, ...objectHelp, ...commandHelp];
  }

  const sectionOf = (object: string): string => `${object.toUpperCase()} COMMANDS`;

  it('documents every object, command and option of the help, each in its section', async () => {
    const [helps, text] = await Promise.all([allHelp(), rendered('netauditctl.1')]);
    const main = helps[0]!.text;
    const globalSection = section(text, 'GLOBAL OPTIONS');
    const globalLong = longOptions(main);
    const globalShort = shortOptions(main);
    expect([...globalLong].sort()).toEqual(['--bus-address', '--colors', '--escape', '--fields', '--get-values', '--help', '--json', '--mode', '--pretty', '--terse', '--version', '--wait']);
    for (const option of [...globalLong, ...globalShort]) expect(shortOptions(globalSection).has(option) || longOptions(globalSection).has(option), `GLOBAL OPTIONS: ${option}`).toBe(true);

    for (const { object, command, text: helpText } of helps.slice(1)) {
      const where = sectionOf(object!);
      const body = section(text, where);
      // The object and its command are named together in its section ("connection add", "device list, device status").
      if (command !== null) expect(body, `${where}: ${object} ${command}`).toMatch(new RegExp(`(^|\\s)${command}(\\s|$|,)`, 'm'));
      else expect(body, `${where}: ${object}`).toContain(object!);
      // The command's own options are in the object's section; those of the main help in GLOBAL OPTIONS (checked above).
      for (const option of longOptions(helpText)) {
        if (globalLong.has(option) && option !== '--help') continue;
        expect(longOptions(body).has(option), `${where}: ${option} (from ${object} ${command ?? ''} --help)`).toBe(true);
      }
      for (const option of shortOptions(helpText)) {
        if (globalShort.has(option) && option !== '-h') continue;
        expect(shortOptions(body).has(option), `${where}: ${option} (from ${object} ${command ?? ''} --help)`).toBe(true);
      }
    }
  });

  it('names no option the help does not name', async () => {
    const [helps, text] = await Promise.all([allHelp(), rendered('netauditctl.1')]);
    const long = new Set(helps.flatMap((h) => [...longOptions(h.text)]));
    const short = new Set(helps.flatMap((h) => [...shortOptions(h.text)]));
    const titles = ['SYNOPSIS', 'GLOBAL OPTIONS', ...['general', 'networking', 'radio', 'connection', 'device', 'reload', 'logging', 'audit'].map(sectionOf)];
    for (const title of titles) {
      const body = section(text, title);
      for (const option of longOptions(body)) expect(long.has(option), `${title}: ${option}`).toBe(true);
      for (const option of shortOptions(body)) expect(short.has(option), `${title}: ${option}`).toBe(true);
    }
    // The check can see an option: the page does name options in these sections.
    expect(longOptions(section(text, sectionOf('audit'))).has('--since')).toBe(true);
  });

  it('lists every exit code with its number, and no other', async () => {
    const status = section(await rendered('netauditctl.1'), 'EXIT STATUS');
    // ".TP\n.B 10" renders as a line of its own, the number indented by 7.
    const listedCodes = [...status.matchAll(/^ {7}(\d+)(?: {2,}\S.*)?$/gm)].map((m) => Number(m[1]));
    expect(listedCodes.sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
    expect(listedCodes).toHaveLength(10);
  });

  it('has the sections a user looks for', async () => {
    const lines = (await rendered('netauditctl.1')).split('\n');
    for (const title of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'GLOBAL OPTIONS', 'OUTPUT', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO']) {
      expect(lines, title).toContain(title);
    }
    const text = lines.join('\n');
    for (const name of ['DBUS_SYSTEM_BUS_ADDRESS', 'NO_COLOR', 'TZ']) expect(section(text, 'ENVIRONMENT')).toContain(name);
  });
});

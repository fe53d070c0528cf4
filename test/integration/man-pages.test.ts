// The man pages in man/ against the code: each renders with man(1) without a warning, every
// option the daemon accepts is in netauditd(8) and every option there is accepted, and every key
// of the configuration schema is in netauditd.conf(5) with its default and when it takes effect,
// and no other key is.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, type ConfigKey } from '../../src/config/schema.js';
import { run } from '../helpers/exec.js';
import { daemonMain } from '../helpers/daemon.js';
import { repoPath } from '../helpers/repo.js';

const PAGES = ['netauditd.8', 'netauditd.conf.5'];

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

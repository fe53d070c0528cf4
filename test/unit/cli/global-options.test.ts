// The global options before the object, nmcli's.
import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_SECONDS, GlobalOptionError, parseGlobalOptions } from '../../../src/cli/global-options.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseGlobalOptions(argv, env, false);

describe('parseGlobalOptions', () => {
  it('stops at the object, whatever the values of the options before it', () => {
    const r = parse(['-f', 'NAME,UUID', '-m', 'multi', '-w', '5', '--bus-address=unix:path=/x', 'connection', 'show', '-t']);
    expect(r.rest).toEqual(['connection', 'show', '-t']);
    expect(r.context).toMatchObject({ busAddress: 'unix:path=/x', waitSeconds: 5 });
    expect(r.context.output).toMatchObject({ fields: ['NAME', 'UUID'], mode: 'multiline', modeGiven: true, terse: false });
  });

  it('takes grouped short options, -g as -t -f, long prefixes, and defaults', () => {
    expect(parse(['-tp', 'general']).context.output).toMatchObject({ terse: true, pretty: true, escape: true, json: false, fields: null });
    expect(parse(['-gNAME', 'c']).context.output).toMatchObject({ getValues: true, terse: true, fields: ['NAME'] });
    expect(parse(['--ter', '--esc', 'no', 'c']).context.output).toMatchObject({ terse: true, escape: false });
    expect(parse(['c']).context.waitSeconds).toBe(DEFAULT_WAIT_SECONDS);
  });

  it('colors only with -c yes, or auto on a terminal without NO_COLOR; never with --json', () => {
    expect(parse(['-c', 'yes', 'g']).context.output.color).toBe(true);
    expect(parseGlobalOptions(['g'], {}, true).context.output.color).toBe(true);
    expect(parseGlobalOptions(['g'], { NO_COLOR: 'x' }, true).context.output.color).toBe(false);
    expect(parseGlobalOptions(['--json', '-c', 'yes', 'g'], {}, true).context.output.color).toBe(false);
  });

  it('refuses unknown or ambiguous options, missing values, bad modes and --json with -t', () => {
    expect(() => parse(['--frobnicate', 'g'])).toThrow("Unknown option '--frobnicate'");
    expect(() => parse(['-f'])).toThrow("option '--fields' needs a value");
    expect(() => parse(['-m', 'wide', 'g'])).toThrow(GlobalOptionError);
    expect(() => parse(['-c', 'sometimes', 'g'])).toThrow('--colors');
    expect(() => parse(['-w', 'soon', 'g'])).toThrow('--wait');
    expect(() => parse(['--json', '-t', 'g'])).toThrow('--json cannot be combined');
  });
});

// Logger: the daemon's own log in NetworkManager's shape,
//   <info>  [1795359215.2990] settings: message
// with a level and a set of domains that SetLogging and reload change at run
// time. Audit lines bypass both (docs/record-format.md: the log backend writes its audit
// line whatever the level says).
import { write, writeSync } from 'node:fs';
import { oneLine } from './escape.js';

export const LOG_LEVELS = ['ERR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_DOMAINS = ['CORE', 'CONFIG', 'BUS', 'SETTINGS', 'AUDIT', 'AUTH'] as const;
export type LogDomain = (typeof LOG_DOMAINS)[number];

const TAG: Record<LogLevel, string> = {
  ERR: '<error>',
  WARN: '<warn> ',
  INFO: '<info> ',
  DEBUG: '<debug>',
  TRACE: '<trace>',
};

export interface LogSink {
  write(line: string): void;
}

const QUEUE_LIMIT = 4 * 1024 * 1024;

/**
 * Writes lines to a file descriptor off the event loop: standard error is
 * journald's socket under systemd, and a stalled journald must not stall the
 * daemon. One write is in flight at a time (so lines keep their order and at
 * most one thread-pool thread can wait); past QUEUE_LIMIT bytes new lines
 * are dropped, counted, and the count reported once the queue drains. The
 * trail, not this log, is the record of truth.
 */
export class FdSink implements LogSink {
  private queue: string[] = [];
  private queued = 0;
  private writing = false;
  private dropped = 0;

  constructor(private readonly fd: number) {}

  write(line: string): void {
    if (this.queued + line.length > QUEUE_LIMIT) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    this.queued += line.length;
    if (!this.writing) this.drain();
  }

  private drain(): void {
    if (this.queue.length === 0) {
      this.writing = false;
      if (this.dropped > 0) {
        const n = this.dropped;
        this.dropped = 0;
        this.write(`<warn>  [${formatTimestamp(Date.now())}] core: ${n} log line(s) dropped while the log could not keep up\n`);
      }
      return;
    }
    this.writing = true;
    const chunk = Buffer.from(this.queue.join(''), 'utf8');
    this.queue = [];
    this.queued = 0;
    const send = (from: number): void => {
      write(this.fd, chunk, from, chunk.length - from, null, (err, n) => {
        // A non-blocking descriptor (Node makes stdio pipes so once process.stderr is used) answers
        // EAGAIN while the reader is behind: try again shortly rather than lose the lines.
        if (err?.code === 'EAGAIN') setTimeout(() => send(from), 5);
        else if (!err && from + n < chunk.length) send(from + n);
        else this.drain();
      });
    };
    send(0);
  }

  /** At exit: writes what is still queued, waiting if it must. */
  flushSync(): void {
    try {
      if (this.queue.length > 0) writeSync(this.fd, this.queue.join(''));
    } catch {
      // Nowhere left to report it.
    }
    this.queue = [];
    this.queued = 0;
  }
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function formatTimestamp(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String(Math.floor((ms % 1000) * 10)).padStart(4, '0')}`;
}

export class Logger {
  private level: LogLevel = 'INFO';
  private domains: ReadonlySet<LogDomain> = new Set(LOG_DOMAINS);

  constructor(
    private sink: LogSink,
    private readonly clock: Clock = systemClock,
  ) {}

  setSink(sink: LogSink): void {
    this.sink = sink;
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  setDomains(domains: Iterable<LogDomain>): void {
    this.domains = new Set(domains);
  }

  getLevel(): LogLevel {
    return this.level;
  }

  getDomains(): LogDomain[] {
    return LOG_DOMAINS.filter((d) => this.domains.has(d));
  }

  enabled(level: LogLevel, domain: LogDomain): boolean {
    return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(this.level) && this.domains.has(domain);
  }

  domain(domain: LogDomain): DomainLogger {
    return new DomainLogger(this, domain);
  }

  /** Writes a line at the given level; `text` must already be escaped. */
  emit(level: LogLevel, domain: LogDomain, text: string): void {
    if (!this.enabled(level, domain)) return;
    this.writeLine(level, domain, text);
  }

  /** The audit line: written at INFO whatever the level and domains say. */
  audit(text: string): void {
    this.writeLine('INFO', 'AUDIT', text);
  }

  private writeLine(level: LogLevel, domain: LogDomain, text: string): void {
    this.sink.write(`${TAG[level]} [${formatTimestamp(this.clock.now())}] ${domain.toLowerCase()}: ${oneLine(text)}\n`);
  }
}

export class DomainLogger {
  constructor(
    private readonly logger: Logger,
    readonly name: LogDomain,
  ) {}
  err(text: string): void {
    this.logger.emit('ERR', this.name, text);
  }
  warn(text: string): void {
    this.logger.emit('WARN', this.name, text);
  }
  info(text: string): void {
    this.logger.emit('INFO', this.name, text);
  }
  debug(text: string): void {
    this.logger.emit('DEBUG', this.name, text);
  }
  trace(text: string): void {
    this.logger.emit('TRACE', this.name, text);
  }
}

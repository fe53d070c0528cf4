// Output of netauditctl: results on stdout; errors and warnings on stderr
// after the program's name; a progress line on stderr only when it is a
// terminal, so that pipes, scripts and logs get nothing but the results.

export const PROGRAM = 'netauditctl';

// Paths made of these print as they are; any other byte (a space, a quote, a
// newline that could split or fake a line) gets the path JSON-quoted.
const PLAIN_PATH = /^[A-Za-z0-9._/@+,:=~-]+$/;
const PROGRESS_INTERVAL_MS = 100;

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printError(message: string): void {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
}

export function printWarning(message: string): void {
  process.stderr.write(`${PROGRAM}: warning: ${message}\n`);
}

export function displayPath(path: string): string {
  return PLAIN_PATH.test(path) ? path : JSON.stringify(path);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export interface Progress {
  /** Shows text in place of the last update, at most every 100 ms. */
  update(text: string): void;
  /** Clears the line. */
  done(): void;
}

/** A one-line progress indicator on stderr when stderr is a terminal; otherwise it does nothing. */
export function progress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = false;
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      shown = true;
      const width = Math.max((stream.columns || 80) - 1, 10);
      // \r and "erase to end of line": the next update overwrites this one.
      stream.write(`\r${text.slice(0, width)}\x1b[K`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

// Colors of netauditctl (-c/--colors auto|yes|no): `auto` colors only a
// terminal, and never when NO_COLOR is set to a non-empty value (no-color.org).

export type ColorChoice = 'auto' | 'yes' | 'no';
export type Color = 'green' | 'red' | 'yellow' | 'dim';

const SGR: Readonly<Record<Color, string>> = { green: '32', red: '31', yellow: '33', dim: '2' };

/** Whether to color, from the user's choice, the environment and whether stdout is a terminal. */
export function resolveColor(choice: ColorChoice, env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  if (choice === 'yes') return true;
  if (choice === 'no') return false;
  const noColor = env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return isTty;
}

/** text wrapped in the color's SGR sequence. */
export function paint(text: string, color: Color | null): string {
  return color === null ? text : `\x1b[${SGR[color]}m${text}\x1b[0m`;
}

// File names of profiles (docs/api.md): NAME.nmconnection, NAME being the id
// escaped as NetworkManager escapes it (nm_keyfile_utils_create_filename()
// in libnm-core-impl/nm-keyfile.c, with_extension = TRUE).
const SUFFIX = '.nmconnection';
const MAX_NAME_BYTES = 200;
const ESCAPE = '_';
// The suffix mkstemp() gives temporary files, and certificate extensions:
// NetworkManager skips such names when it reads a directory.
const MKSTEMP_SUFFIX = /\.[A-Za-z0-9]{6}$/;
const CERT_SUFFIX = /.\.(pem|der)$/i;

/** The id made safe for a file name: no "/", no leading "." (hidden), no trailing "~" (backup). */
export function safeFileName(id: string): string {
  if (id === '') return '';
  let name = id.replaceAll('/', ESCAPE);
  if (name.startsWith('.')) name = ESCAPE + name.slice(1);
  if (name.endsWith('~')) name = name.slice(0, -1) + ESCAPE;
  if (MKSTEMP_SUFFIX.test(name) || CERT_SUFFIX.test(name)) name += ESCAPE;
  return name;
}

function usable(name: string): boolean {
  return name !== '' && Buffer.byteLength(name, 'utf8') <= MAX_NAME_BYTES;
}

/**
 * The file name for a profile: the safe id; when that is taken, empty or over
 * 200 bytes, ID-UUID; then the UUID alone, then UUID-N. The 200-byte bound
 * leaves room for "-UUID" and the suffix within the 255 bytes of a file name.
 */
export function profileFileName(id: string, uuid: string, taken: (name: string) => boolean): string {
  const candidates: string[] = [];
  if (usable(safeFileName(id))) candidates.push(safeFileName(id), safeFileName(`${id}-${uuid}`));
  candidates.push(safeFileName(uuid));
  for (const name of candidates) if (!taken(name + SUFFIX)) return name + SUFFIX;
  for (let n = 1; ; n++) {
    const name = `${safeFileName(uuid)}-${n}${SUFFIX}`;
    if (!taken(name)) return name;
  }
}

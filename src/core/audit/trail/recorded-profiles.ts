// Recorded profiles: the trail read backwards through the profile history
// (profile-history.ts), for the daemon at start (docs/profile-edits.md).
import type { RecordFilter } from './filter.js';
import { mayBeProfileRecord, mayBeProfileRecordBytes, ProfileHistory, type RecordedProfile } from './profile-history.js';
import { readTail } from './reader.js';
import { scanTrailBackward } from './scan.js';
import { TimeSlice } from '../../time-slice.js';

const PROFILE_RECORDS: RecordFilter = {
  options: {},
  mayMatchLine: mayBeProfileRecord,
  mayMatchBytes: mayBeProfileRecordBytes,
  matches: () => true,
  mayMatchDay: () => true,
};

export interface RecordedProfilesScan {
  readonly profiles: Map<string, RecordedProfile>;
  /** records parsed (those the line test let through) */
  readonly parsed: number;
  /** when the trail's last record was made (ms since the epoch); null for an empty trail */
  readonly end: number | null;
}

/**
 * What the trail in `dir` last recorded of every profile it names. The scan
 * reads the whole trail, newest first: a profile deleted while the daemon
 * was stopped may be named only by a record of long ago, and only reading
 * to the oldest record finds it. Lines that cannot be a profile's record are
 * passed over unparsed. A missing trail directory is an empty trail.
 */
export async function recordedProfiles(dir: string): Promise<RecordedProfilesScan> {
  const history = new ProfileHistory();
  let parsed = 0;
  let end: number | null = null;
  try {
    const last = (await readTail(dir)).last;
    if (last !== null) end = Date.parse(last.entry.ts);
    // A block of the trail is parsed in one go; a trail of profile records is read at start.
    const slice = new TimeSlice();
    for await (const { entry } of scanTrailBackward(dir, PROFILE_RECORDS)) {
      parsed++;
      history.feed(entry);
      await slice.check();
    }
  } catch (e) {
    if ((e as { errno?: string; code?: string }).errno !== 'ENOENT' && (e as { code?: string }).code !== 'ENOENT') throw e;
  }
  return { profiles: history.result(), parsed, end };
}

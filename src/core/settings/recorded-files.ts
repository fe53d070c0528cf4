// RecordedFiles: what the trail last recorded of profile files whose edit
// the watch recorded but the daemon's view did not take up (monitoring off:
// docs/profile-edits.md). Each edit is recorded once: a reload compares the
// files with the view overlaid with these, so that it records only what
// nobody saw, and then takes the files up and forgets them.
import type { HeldProfile } from './disk-edits.js';

export class RecordedFiles {
  /** by uuid: the profile as its file was recorded, or null when its removal was */
  private readonly notLoaded = new Map<string, HeldProfile | null>();

  /** `view` (the daemon's saved profiles) with what was recorded since of files it has not taken up. */
  over(view: ReadonlyMap<string, HeldProfile>): Map<string, HeldProfile> {
    const out = new Map(view);
    for (const [uuid, recorded] of this.notLoaded) {
      if (recorded === null) out.delete(uuid);
      else out.set(uuid, recorded);
    }
    return out;
  }

  note(uuid: string, recorded: HeldProfile | null): void {
    this.notLoaded.set(uuid, recorded);
  }

  /** The daemon wrote the profile's file from its view, or the view took the file up. */
  forget(uuid: string): void {
    this.notLoaded.delete(uuid);
  }

  /** After a reload took the files up: forgets every profile but those `kept` says (by uuid and the file recorded; null for a removal). */
  forgetUnless(kept: (uuid: string, fileName: string | null) => boolean): void {
    for (const [uuid, recorded] of this.notLoaded) if (!kept(uuid, recorded?.fileName ?? null)) this.notLoaded.delete(uuid);
  }
}

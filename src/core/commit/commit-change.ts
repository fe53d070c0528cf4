// One profile change through the commit protocol (docs/commit.md): its
// write-ahead line and its trail record made durable side by side, then the
// file put in place and the daemon's view changed, then the reply.
import type { AuditManager, AuditTransaction, CommitOptions } from '../audit/audit-manager.js';
import type { CommitLog, ProfileChange, ProfileCommit } from './profile-commit.js';

export interface ProfileCommitContext {
  readonly audit: AuditManager;
  readonly commit: ProfileCommit;
  readonly log: CommitLog;
}

/**
 * Commits `change` for the attempt `tx`, then runs `applied` (the view's
 * change, and any follow-up under the same record). With a trail, its
 * record is the commit point: a refused record leaves nothing, a line that
 * failed after the record is overturned. Without one, the line is.
 */
export async function commitProfileChange<T>(
  context: ProfileCommitContext,
  tx: AuditTransaction,
  change: Omit<ProfileChange, 'boot' | 'tx'>,
  applied: () => T | Promise<T>,
  options: Omit<CommitOptions, 'alongside'> = {},
): Promise<T> {
  const { audit, commit, log } = context;
  const full: ProfileChange = { ...change, boot: audit.boot, tx: tx.commitId() };
  const recorded = audit.hasCommitBackend;
  const staged = commit.begin(full, recorded);
  const install = async (): Promise<T> => {
    await commit.apply(staged).catch((e: Error) => {
      log.err(`change ${full.boot}-${full.tx} is committed but could not be applied on disk (${e.message}); it is retried, and put in place at the next start if it has not landed by then`);
    });
    return applied();
  };
  if (!recorded) {
    try {
      await commit.write(staged);
    } catch (e) {
      commit.release(staged);
      throw e;
    }
    return tx.commit(install, options);
  }
  return tx.commit(install, {
    ...options,
    alongside: {
      run: () => commit.write(staged),
      refused: () => commit.release(staged),
      // A line that failed whose record could not be overturned keeps its segment: the next start overturns it.
      failed: (overturned) => {
        if (overturned) commit.release(staged);
      },
    },
  });
}

/**
 * A change to a profile file that no record commits (a profile taken away
 * again once its attempt's record was overturned): its line commits it.
 */
export async function commitUnrecorded(context: ProfileCommitContext, change: ProfileChange): Promise<void> {
  const staged = context.commit.begin(change, false);
  try {
    await context.commit.write(staged);
  } catch (e) {
    context.commit.release(staged);
    throw e;
  }
  await context.commit.apply(staged);
}

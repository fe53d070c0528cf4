// The libaudit probe's pieces that do not depend on the machine: CAP_AUDIT_WRITE read from a
// /proc/…/status text, and the reason given for a refused audit socket.
import { describe, expect, it } from 'vitest';
import { auditSocketFailure, statusHasAuditWrite } from '../../../src/native/libaudit.js';

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

describe('statusHasAuditWrite', () => {
  it('reads bit 29 of CapEff', () => {
    expect(statusHasAuditWrite(status('000001ffffffffff'))).toBe(true);
    expect(statusHasAuditWrite(status('0000000020000000'))).toBe(true);
    // everything but CAP_AUDIT_WRITE
    expect(statusHasAuditWrite(status('000001ffdfffffff'))).toBe(false);
    // what the unit grants: CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_AUDIT_WRITE
    expect(statusHasAuditWrite(status('0000000020081000'))).toBe(true);
    expect(statusHasAuditWrite(status('0000000000000000'))).toBe(false);
  });

  it('says nothing when there is no CapEff line', () => {
    expect(statusHasAuditWrite('Name:\tnode\nCapPrm:\t000001ffffffffff\n')).toBeNull();
  });
});

describe('auditSocketFailure', () => {
  it('names the errno and what most likely refused the socket', () => {
    expect(auditSocketFailure(97)).toBe(
      'socket(AF_NETLINK, NETLINK_AUDIT) failed: Address family not supported by protocol (EAFNOSUPPORT): a seccomp filter or a kernel without audit refuses the audit socket',
    );
    expect(auditSocketFailure(1)).toBe('socket(AF_NETLINK, NETLINK_AUDIT) failed: Operation not permitted (EPERM): a seccomp filter or a security policy refuses the audit socket');
    expect(auditSocketFailure(24)).toBe('socket(AF_NETLINK, NETLINK_AUDIT) failed: Too many open files (EMFILE)');
  });
});

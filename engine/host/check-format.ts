export type HostCheckStatus = 'PASS' | 'WARN' | 'FAIL';

export interface HostCheckResult {
  id: string;
  /** Reads as "Checking for …", like virt-host-validate. */
  title: string;
  status: HostCheckStatus;
  detail: string;
  /** What to do, for WARN and FAIL. */
  fix?: string;
}

/**
 * virt-host-validate style: one aligned line per check, and under each WARN or FAIL the fix.
 *
 *   QEMU: Checking for the QEMU binary (qemu-system-x86_64) : PASS (/usr/bin/qemu-system-x86_64, QEMU 7.2.22)
 *   QEMU: Checking for hardware virtualization              : WARN (kvm_pvm is a paravirtual KVM …)
 *     → fix: Run on a host …
 */
export function formatHostCheck(results: readonly HostCheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.title.length));
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`QEMU: ${result.title.padEnd(width)} : ${result.status}${result.detail ? ` (${result.detail})` : ''}`);
    if (result.status !== 'PASS' && result.fix) lines.push(`  → fix: ${result.fix}`);
  }
  const count = (status: HostCheckResult['status']) => results.filter((r) => r.status === status).length;
  lines.push('', `${count('PASS')} passed, ${count('WARN')} warnings, ${count('FAIL')} failed`);
  return `${lines.join('\n')}\n`;
}

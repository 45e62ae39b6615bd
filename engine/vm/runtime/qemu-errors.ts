import { basename } from 'node:path';
import { EngineError } from '../../api/errors';

/**
 * QEMU's own complaint, from what it wrote to stderr: our header lines dropped, the
 * `qemu-system-x86_64: ` prefix removed, lines joined.
 */
export function extractQemuMessage(logTail: string, binary: string): string {
  const prefix = `${basename(binary)}: `;
  return logTail
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0 && !line.startsWith('[virtdesk]'))
    // `-msg timestamp=on` puts an ISO time before each message.
    .map((line) => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, ''))
    .map((line) => (line.startsWith(prefix) ? line.slice(prefix.length) : line))
    .join('\n')
    .trim();
}

/** Replaces a JSON option value QEMU echoes back (`-blockdev {...}: `) with its first words, for readability. */
function shortenOptionEcho(message: string): string {
  return message.replace(/^(-\w[\w-]*) (\{.*?\}|\S+): /, (_all, option: string, value: string) => {
    const short = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return `${option} ${short}: `;
  });
}

/** The error a person sees when QEMU exits before it is ready, with QEMU's message and what to do. */
export function qemuStartError(rawMessage: string, context: { vmName: string; qemuLog: string; exit: string }): EngineError {
  const message = rawMessage.split('\n').join(' ') || `it exited (${context.exit}) without saying why`;
  const details = { qemuMessage: rawMessage, exit: context.exit, qemuLog: context.qemuLog };
  const lock = /Failed to get "(?:write|shared|consistent read)" lock.*?Is another process using the image \[([^\]]+)\]/.exec(message);
  if (lock) {
    return new EngineError(
      'conflict',
      `VM "${context.vmName}" cannot start: its disk ${lock[1]} is already open in another running VM (QEMU could not lock the image).`,
      { hint: 'Stop the VM that uses this disk first, or give this VM its own copy of the disk.', details },
    );
  }
  let hint = `QEMU's full output is in ${context.qemuLog}.`;
  if (/Could not access KVM kernel module|failed to initialize kvm/i.test(message)) {
    hint = 'KVM is not usable here; set the accelerator to tcg (`--accel tcg`) or check `virtdesk host check`.';
  } else if (/No such file or directory/.test(message)) {
    hint = 'A file the VM refers to is missing; check its disk, CD-ROM, kernel and firmware paths with `virtdesk vm show`.';
  } else if (/Permission denied/.test(message)) {
    hint = 'A file the VM refers to is not readable or writable by you; check its permissions.';
  } else if (/cannot set up guest memory|Cannot allocate memory/i.test(message)) {
    hint = 'The host does not have that much free memory; give the VM less.';
  }
  return new EngineError('qemu-error', `QEMU refused to start VM "${context.vmName}": ${shortenOptionEcho(message)}`, { hint, details });
}

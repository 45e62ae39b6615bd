import { execFile } from 'node:child_process';
import { EngineError } from '../../api/errors';
import { describeTarget, type SshError, type SshTarget } from './ssh';

/** The host's key fingerprints as ssh-keygen shows them, fetched with ssh-keyscan (empty when it cannot). */
export function scanFingerprints(target: SshTarget, timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve) => {
    const scan = execFile('ssh-keyscan', ['-T', String(Math.ceil(timeoutMs / 1000)), ...(target.port ? ['-p', String(target.port)] : []), target.host], { timeout: timeoutMs + 1000 }, (error, keys) => {
      if (error || !keys.trim()) return resolve([]);
      const keygen = execFile('ssh-keygen', ['-l', '-f', '-'], { timeout: 5000 }, (keygenError, fingerprints) => {
        resolve(keygenError ? [] : fingerprints.trim().split('\n').map((line) => line.replace(/^(\d+) (\S+) \S+ \((\w+)\)$/, '$3 $2')));
      });
      keygen.stdin?.end(keys);
    });
    scan.on('error', () => resolve([]));
  });
}

/** Turns ssh's failure into an error that says what failed, why, and what to do. */
export async function explainSshFailure(error: SshError): Promise<EngineError> {
  const where = describeTarget(error.target);
  const text = error.stderr;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text)) {
    const fingerprint = /(SHA256:[A-Za-z0-9+/=]+)/.exec(text)?.[1] ?? 'unknown';
    return new EngineError('permission-denied', `The SSH host key of ${where} has changed (it now offers ${fingerprint}); Virtdesk refused to connect.`, {
      hint: `Someone may be intercepting the connection, or the host was reinstalled. Check the fingerprint with the host's administrator; if it is right, remove the old key with: ssh-keygen -R ${error.target.host}`,
      details: { host: where, fingerprints: [fingerprint], reason: 'host-key-changed' },
    });
  }
  if (/host key is known for|Host key verification failed/.test(text)) {
    const fingerprints = await scanFingerprints(error.target);
    const shown = fingerprints.length > 0 ? fingerprints.join(', ') : 'it could not be read';
    return new EngineError('permission-denied', `${where} is not a known SSH host; Virtdesk refused its key (${shown}).`, {
      hint: `Check the fingerprint with the host's administrator, then accept it once in a terminal: ssh ${where}`,
      details: { host: where, fingerprints, reason: 'host-key-unknown' },
    });
  }
  if (/Permission denied/.test(text)) {
    return new EngineError('permission-denied', `${where} refused the SSH login: ${lastLine(text)}`, {
      hint: 'Virtdesk logs in with your SSH keys and agent, never a password prompt: add your key to the host (ssh-copy-id), or name the right user and key in the connection.',
      details: { host: where, reason: 'auth' },
    });
  }
  if (/Could not resolve|Connection refused|No route to host|timed out|Network is unreachable/.test(text)) {
    return new EngineError('unavailable', `Cannot reach ${where} over SSH: ${lastLine(text)}`, {
      hint: 'Check the host name, that the host is up and that its sshd runs.',
      details: { host: where, reason: 'unreachable' },
    });
  }
  if (/virt-ssh-helper|nc:|libvirt-sock|virtqemud-sock|Failed to connect socket/.test(text)) {
    return new EngineError('unavailable', `${where} answered SSH but its libvirt did not: ${lastLine(text)}`, {
      hint: 'Start libvirt on the host (systemctl start libvirtd, or virtqemud), and check the connection URI.',
      details: { host: where, reason: 'daemon' },
    });
  }
  return new EngineError('unavailable', error.message, { details: { host: where } });
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

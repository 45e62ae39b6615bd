// libvirt over SSH the way libvirt's own client does it: the user's `ssh` runs virt-ssh-helper
// on the host (or, on hosts older than libvirt 6.8, nc to the daemon's socket), and the RPC
// flows over ssh's stdin and stdout. Keys, agent and ~/.ssh/config are the user's own; host
// keys are checked strictly; one master connection per host is shared (ControlMaster).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { EngineError } from '../../api/errors';
import type { ByteChannel } from './channel';

export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
  /** A private key file (libvirt's `keyfile=` URI parameter). */
  keyfile?: string;
}

export interface SshChannelOptions {
  /** The URI virt-ssh-helper opens on the host (qemu:///system). */
  remoteUri: string;
  /** The daemon socket nc connects to when the host has no virt-ssh-helper. */
  remoteSocket: string;
  /** Folder for the ControlMaster sockets (made 0700). */
  controlDir: string;
  /** Seconds a master connection outlives its last user. */
  controlPersistSeconds?: number;
  /** Extra `-o` options (tests point UserKnownHostsFile at their own file). */
  sshOptions?: string[];
  /** An ssh_config file used instead of ~/.ssh/config (`ssh -F`). */
  sshConfigFile?: string;
  sshBinary?: string;
}

const SAFE = /^[A-Za-z0-9:/._+?=&,@%-]+$/;

/** The command run on the host: virt-ssh-helper when there is one, else libvirt's nc fallback. */
export function remoteProxyCommand(remoteUri: string, remoteSocket: string): string {
  if (!SAFE.test(remoteUri) || !SAFE.test(remoteSocket.replace(/^\$XDG_RUNTIME_DIR\//, '/'))) {
    throw new EngineError('invalid-argument', `The URI ${remoteUri} or socket ${remoteSocket} has characters Virtdesk does not pass through a remote shell.`);
  }
  return "sh -c 'if which virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper \"" + remoteUri + '"; fi; ' +
    'if nc -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0; else ARG=; fi; ' +
    "exec nc $ARG -U \"" + remoteSocket + "\"'";
}

export function sshArguments(target: SshTarget, options: SshChannelOptions, command: string[]): string[] {
  const args: string[] = options.sshConfigFile ? ['-F', options.sshConfigFile] : [];
  if (target.port !== undefined) args.push('-p', String(target.port));
  if (target.user !== undefined) args.push('-l', target.user);
  if (target.keyfile !== undefined) args.push('-i', target.keyfile);
  args.push(
    '-T', '-e', 'none',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${options.controlDir}/%C`,
    '-o', `ControlPersist=${options.controlPersistSeconds ?? 30}`,
    '-o', 'ConnectTimeout=10',
    ...(options.sshOptions ?? []).flatMap((option) => ['-o', option]),
    '--', target.host, ...command,
  );
  return args;
}

export function describeTarget(target: SshTarget): string {
  return `${target.user ? `${target.user}@` : ''}${target.host}${target.port ? `:${target.port}` : ''}`;
}

/** Starts ssh to the host's libvirt; the channel closes with ssh's own words when ssh ends. */
export function openSshChannel(target: SshTarget, options: SshChannelOptions): ByteChannel {
  mkdirSync(options.controlDir, { recursive: true, mode: 0o700 });
  const label = `${describeTarget(target)} (ssh)`;
  const child = spawn(options.sshBinary ?? 'ssh', sshArguments(target, options, [remoteProxyCommand(options.remoteUri, options.remoteSocket)]), {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  // A ControlPersist master forked by this ssh keeps its stderr: wait for the exit, not for EOF on every pipe.
  const closed = new Promise<Error | undefined>((resolve) => {
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      resolve(error);
    };
    child.once('error', (error) => settle(new SshError(`Could not run ssh: ${error.message}`, '', target)));
    child.once('exit', (code, signal) => {
      // Give the last stderr lines a moment to arrive.
      setTimeout(() => {
        settle(code === 0 ? undefined : new SshError(`ssh to ${describeTarget(target)} ended (${signal ?? `exit ${code}`})`, stderr, target));
        // The master may hold these pipes' other ends for its ControlPersist time: let go of them.
        child.stdout.destroy();
        child.stderr.destroy();
      }, 20);
    });
  });
  child.stdin.on('error', () => { /* reported by the exit */ });
  return {
    label,
    write: (data) => { child.stdin.write(data); },
    onData: (listener) => { child.stdout.on('data', listener); },
    closed,
    close: () => { child.kill('SIGTERM'); },
  };
}

/** ssh's own failure, with its stderr kept for classifying. */
export class SshError extends Error {
  override readonly name = 'SshError';
  constructor(message: string, readonly stderr: string, readonly target: SshTarget) {
    super(stderr.trim() ? `${message}: ${lastLines(stderr)}` : message);
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').filter((line) => !/^(@@@|@\s|IT IS POSSIBLE|Someone could|It is also possible)/.test(line)).slice(-3).join(' ');
}

/** Ends the shared master connection to a host, if one runs (ssh -O exit). */
export function closeSshMaster(target: SshTarget, controlDir: string, sshConfigFile?: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [
      ...(sshConfigFile ? ['-F', sshConfigFile] : []),
      ...(target.port !== undefined ? ['-p', String(target.port)] : []),
      ...(target.user !== undefined ? ['-l', target.user] : []),
      '-o', `ControlPath=${controlDir}/%C`, '-O', 'exit', '--', target.host,
    ], { stdio: 'ignore' });
    child.once('error', () => resolve());
    child.once('exit', () => resolve());
  });
}

// Opens a libvirt connection: the transport the URI names, libvirt's handshake (auth, keepalive,
// CONNECT_OPEN), all within one time budget.
import { existsSync } from 'node:fs';
import { EngineError } from '../../api/errors';
import { RpcClient, type KeepaliveOptions } from '../rpc/client';
import type { ByteChannel } from '../transport/channel';
import { SshError, openSshChannel } from '../transport/ssh';
import { explainSshFailure } from '../transport/ssh-failure';
import { connectUnixSocket } from '../transport/unix-socket';
import { localSocketCandidates, parseLibvirtUri, remoteSocket, type LibvirtUri } from '../uri';
import { LibvirtConnection } from './libvirt-connection';

export interface OpenOptions {
  /** Budget for the transport and the handshake together. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Default timeout of every later call. */
  callTimeoutMs?: number;
  /** false: no keepalive (tests of a silent host set their own). */
  keepalive?: KeepaliveOptions | false;
  /** Folder for SSH ControlMaster sockets. */
  sshControlDir: string;
  /** Extra ssh `-o` options. */
  sshOptions?: string[];
  /** An ssh_config used instead of ~/.ssh/config (`ssh -F`; VIRTDESK_SSH_CONFIG for the CLI). */
  sshConfigFile?: string;
  env?: NodeJS.ProcessEnv;
}

// virDrvFeature (src/libvirt_internal.h) and remote_auth_type.
const FEATURE_PROGRAM_KEEPALIVE = 10;
const AUTH_NONE = 0;
const AUTH_POLKIT = 2;
/** Marks a host dead after ~10 s of silence: a ping after 2.5 s quiet, four quiet intervals. */
export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 2500, count: 4 };

export async function openLibvirtConnection(uriText: string, options: OpenOptions): Promise<LibvirtConnection> {
  const uri = parseLibvirtUri(uriText);
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const channel = await openChannel(uri, options, timeoutMs, signal);
  const host = uri.host ? `${uri.user ? `${uri.user}@` : ''}${uri.host}` : uri.serverUri;
  const client = new RpcClient(channel, { host, ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}) });
  try {
    const callOptions = { signal, timeoutMs };
    const { types } = await client.call('AUTH_LIST', undefined, callOptions);
    if (!types.includes(AUTH_NONE)) {
      if (!types.includes(AUTH_POLKIT)) {
        throw new EngineError('permission-denied', `${host} asks for an authentication Virtdesk does not support (libvirt auth types ${types.join(', ')}; SASL is not supported).`, {
          hint: 'Use the local socket with polkit or group access, or SSH.',
        });
      }
      await client.call('AUTH_POLKIT', undefined, callOptions);
    }
    const keepalive = options.keepalive ?? DEFAULT_KEEPALIVE;
    if (keepalive && (await client.call('CONNECT_SUPPORTS_FEATURE', { feature: FEATURE_PROGRAM_KEEPALIVE }, callOptions)).supported) {
      client.startKeepalive(keepalive);
    }
    await client.call('CONNECT_OPEN', { name: uri.serverUri, flags: 0 }, callOptions);
    return new LibvirtConnection(uri, client);
  } catch (error) {
    client.close();
    const reason = await Promise.race([client.closed, new Promise<undefined>((resolve) => setTimeout(resolve, 200))]);
    const sshFailure = findSshError(error) ?? findSshError(reason);
    if (sshFailure) throw await explainSshFailure(sshFailure);
    if (deadline.aborted && !options.signal?.aborted) {
      throw new EngineError('timeout', `${host} did not complete libvirt's handshake within ${timeoutMs / 1000} s.`, { hint: 'Check that the host is up and its libvirt daemon runs.', cause: error });
    }
    throw error;
  }
}

async function openChannel(uri: LibvirtUri, options: OpenOptions, timeoutMs: number, signal: AbortSignal): Promise<ByteChannel> {
  if (uri.transport === 'ssh') {
    return openSshChannel(
      { host: uri.host!, ...(uri.user ? { user: uri.user } : {}), ...(uri.port ? { port: uri.port } : {}), ...(uri.keyfile ? { keyfile: uri.keyfile } : {}) },
      { remoteUri: uri.serverUri, remoteSocket: remoteSocket(uri), controlDir: options.sshControlDir, ...(options.sshOptions ? { sshOptions: options.sshOptions } : {}), ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}) },
    );
  }
  const candidates = localSocketCandidates(uri, options.env);
  const path = candidates.find((candidate) => existsSync(candidate)) ?? candidates.at(-1)!;
  return connectUnixSocket(path, { timeoutMs, signal });
}

function findSshError(error: unknown): SshError | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof SshError) return current;
  }
  return undefined;
}

import { EngineError } from '../api/errors';

/** A libvirt URI Virtdesk can open, split into what the transport and the daemon need. */
export interface LibvirtUri {
  /** As the user wrote it. */
  uri: string;
  driver: 'qemu' | 'test';
  transport: 'unix' | 'ssh';
  /** `system`, `session` (qemu) or `default` (test). */
  path: string;
  host?: string;
  user?: string;
  port?: number;
  /** `socket=`: the daemon socket, on this computer (unix) or on the host (ssh). */
  socket?: string;
  /** `keyfile=` (ssh). */
  keyfile?: string;
  /** The URI sent to the daemon in CONNECT_OPEN: the driver's, without transport or client-only parameters. */
  serverUri: string;
}

const SUPPORTED = 'qemu:///system, qemu:///session, qemu+ssh://[user@]host[:port]/system or /session, test:///default';
const CLIENT_PARAMETERS = new Set(['socket', 'keyfile', 'no_verify', 'no_tty', 'netcat', 'command', 'proxy', 'mode']);

export function parseLibvirtUri(text: string): LibvirtUri {
  const unsupported = (why: string): EngineError => new EngineError('invalid-argument', `Virtdesk cannot open the libvirt URI '${text}': ${why}.`, {
    hint: `Use one of: ${SUPPORTED}.`,
  });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw unsupported('it is not a URI');
  }
  const [driver, transport = driver === 'test' || driver === 'qemu' ? 'unix' : '', ...more] = url.protocol.replace(/:$/, '').split('+');
  if ((driver !== 'qemu' && driver !== 'test') || more.length > 0) throw unsupported(`the driver '${driver}' is not supported (only qemu, and test for testing)`);
  if (transport !== 'unix' && transport !== 'ssh') throw unsupported(`the transport '${transport}' is not supported (only the local socket and ssh; libvirt's tls, tcp and libssh are not)`);
  const path = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  const allowed = driver === 'test' ? ['default'] : ['system', 'session'];
  if (!allowed.includes(path)) throw unsupported(`the path '/${path}' is not ${allowed.map((p) => `/${p}`).join(' or ')}`);
  if (transport === 'unix' && url.hostname) throw unsupported('a local URI has no host name (write qemu+ssh://HOST/system for another host)');
  if (transport === 'ssh' && !url.hostname) throw unsupported('qemu+ssh needs a host name');
  for (const key of url.searchParams.keys()) {
    if (!CLIENT_PARAMETERS.has(key)) throw unsupported(`the parameter '${key}' is not supported`);
  }
  if (url.searchParams.has('no_verify')) throw unsupported('no_verify is refused: Virtdesk always checks SSH host keys');
  for (const key of ['netcat', 'command', 'proxy', 'mode']) {
    if (url.searchParams.has(key)) throw unsupported(`the parameter '${key}' is not supported`);
  }
  const result: LibvirtUri = { uri: text, driver, transport, path, serverUri: `${driver}:///${path}` };
  if (url.hostname) result.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.username) result.user = decodeURIComponent(url.username);
  if (url.port) result.port = Number(url.port);
  const socket = url.searchParams.get('socket');
  if (socket) result.socket = socket;
  const keyfile = url.searchParams.get('keyfile');
  if (keyfile) result.keyfile = keyfile;
  return result;
}

/** The daemon socket for a local URI, libvirt's way: the modular daemon's when it exists, else libvirtd's. */
export function localSocketCandidates(uri: LibvirtUri, env: NodeJS.ProcessEnv = process.env): string[] {
  if (uri.socket) return [uri.socket];
  if (uri.path === 'session') {
    const base = env.XDG_RUNTIME_DIR ? `${env.XDG_RUNTIME_DIR}/libvirt` : `${env.HOME ?? ''}/.cache/libvirt`;
    return [`${base}/virtqemud-sock`, `${base}/libvirt-sock`];
  }
  if (uri.driver === 'test') return ['/run/libvirt/libvirt-sock'];
  return ['/run/libvirt/virtqemud-sock', '/run/libvirt/libvirt-sock'];
}

/** The daemon socket nc uses on a host without virt-ssh-helper. */
export function remoteSocket(uri: LibvirtUri): string {
  if (uri.socket) return uri.socket;
  // Expanded by the host's shell: the session daemon's socket is under the remote user's runtime folder.
  return uri.path === 'session' ? '$XDG_RUNTIME_DIR/libvirt/libvirt-sock' : '/run/libvirt/libvirt-sock';
}

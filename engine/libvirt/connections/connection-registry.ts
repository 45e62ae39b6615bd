// The libvirt connections of one Virtdesk process: each with a typed state and its last error,
// connected on demand or at start (autoconnect), reconnected with back-off when the host drops
// it, and never blocking anything else (every call is asynchronous with a timeout).
import { EngineError, toErrorInfo, type ErrorInfo } from '../../api/errors';
import type { SavedConnection } from '../../api/preferences-api';
import type { LibvirtConnection } from '../connection/libvirt-connection';
import { openLibvirtConnection, type OpenOptions } from '../connection/open-connection';
import { closeSshMaster } from '../transport/ssh';
import { parseLibvirtUri } from '../uri';
import { addSavedConnection, listSavedConnections, removeSavedConnection } from './saved-connections';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

export interface ConnectionStatus {
  name: string;
  uri: string;
  autoconnect: boolean;
  state: ConnectionState;
  /** Why the last attempt or the connection failed; cleared when it connects. */
  lastError: ErrorInfo | null;
  /** When the next reconnect attempt is due (ms since the epoch), while reconnecting. */
  retryAt: number | null;
}

export interface RegistryOptions {
  home: string;
  /** Open options for every connection (SSH control folder, timeouts). */
  open: OpenOptions;
  /** Back-off for reconnects: first delay, doubled per failure up to the maximum. */
  backoff?: { initialMs: number; maxMs: number };
  /** Called on every state change. */
  onChange?: (status: ConnectionStatus) => void;
  /** Opens a connection; tests and hosts may wrap it. */
  openConnection?: typeof openLibvirtConnection;
}

interface Entry {
  saved: SavedConnection;
  state: ConnectionState;
  lastError: ErrorInfo | null;
  connection?: LibvirtConnection;
  connecting?: Promise<LibvirtConnection>;
  retryTimer?: NodeJS.Timeout;
  retryAt: number | null;
  failures: number;
  /** The user asked for it to be connected (reconnects only then). */
  wanted: boolean;
}

export class ConnectionRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly openConnection: typeof openLibvirtConnection;

  constructor(private readonly options: RegistryOptions) {
    this.backoff = options.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    this.openConnection = options.openConnection ?? openLibvirtConnection;
  }

  /** Reads the saved connections (again: keeps the live ones, drops removed ones). */
  async load(): Promise<ConnectionStatus[]> {
    const saved = await listSavedConnections(this.options.home);
    const names = new Set(saved.map((connection) => connection.name));
    for (const [name] of this.entries) if (!names.has(name)) await this.forget(name);
    for (const connection of saved) {
      const entry = this.entries.get(connection.name);
      if (entry) entry.saved = connection;
      else this.entries.set(connection.name, { saved: connection, state: 'disconnected', lastError: null, retryAt: null, failures: 0, wanted: false });
    }
    return this.list();
  }

  list(): ConnectionStatus[] {
    return [...this.entries.values()].map(status);
  }

  get(name: string): ConnectionStatus | undefined {
    const entry = this.entries.get(name);
    return entry ? status(entry) : undefined;
  }

  async add(input: { name: string; uri: string; autoconnect?: boolean }): Promise<ConnectionStatus> {
    const saved = await addSavedConnection(this.options.home, input);
    const entry: Entry = { saved, state: 'disconnected', lastError: null, retryAt: null, failures: 0, wanted: false };
    this.entries.set(saved.name, entry);
    this.changed(entry);
    return status(entry);
  }

  async remove(name: string): Promise<void> {
    await removeSavedConnection(this.options.home, name);
    await this.forget(name);
  }

  /** Connects every saved connection marked autoconnect; failures are recorded, not thrown. */
  async autoconnect(): Promise<ConnectionStatus[]> {
    await this.load();
    await Promise.all([...this.entries.values()].filter((entry) => entry.saved.autoconnect).map((entry) => this.connect(entry.saved.name).catch(() => undefined)));
    return this.list();
  }

  /** The open connection, connecting first when needed. */
  async connect(name: string): Promise<LibvirtConnection> {
    const entry = this.entries.get(name) ?? (await this.load(), this.entries.get(name));
    if (!entry) throw new EngineError('not-found', `There is no connection named "${name}".`, { hint: 'Add it first: virtdesk conn add NAME URI' });
    entry.wanted = true;
    if (entry.connection?.isOpen) return entry.connection;
    return this.attempt(entry);
  }

  async disconnect(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) return;
    entry.wanted = false;
    this.cancelRetry(entry);
    const connection = entry.connection;
    entry.connection = undefined;
    entry.state = 'disconnected';
    this.changed(entry);
    await connection?.close();
    await this.closeMaster(entry.saved.uri);
  }

  /** Closes every connection (a host process shutting down). */
  async dispose(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((name) => this.disconnect(name)));
  }

  private async forget(name: string): Promise<void> {
    await this.disconnect(name);
    this.entries.delete(name);
  }

  private attempt(entry: Entry): Promise<LibvirtConnection> {
    if (entry.connecting) return entry.connecting;
    this.cancelRetry(entry);
    entry.state = entry.failures > 0 ? 'reconnecting' : 'connecting';
    this.changed(entry);
    const connecting = this.openConnection(entry.saved.uri, this.options.open).then(
      (connection) => {
        entry.connecting = undefined;
        if (!entry.wanted) {
          void connection.close();
          throw new EngineError('cancelled', `The connection "${entry.saved.name}" was disconnected while it connected.`);
        }
        entry.connection = connection;
        entry.state = 'connected';
        entry.lastError = null;
        entry.failures = 0;
        this.changed(entry);
        void connection.closed.then((reason) => this.lost(entry, connection, reason));
        return connection;
      },
      (error: unknown) => {
        entry.connecting = undefined;
        entry.lastError = toErrorInfo(error);
        if (entry.wanted) this.scheduleRetry(entry);
        else entry.state = 'disconnected';
        this.changed(entry);
        throw error;
      },
    );
    entry.connecting = connecting;
    return connecting;
  }

  private lost(entry: Entry, connection: LibvirtConnection, reason: Error | undefined): void {
    if (entry.connection !== connection) return;
    entry.connection = undefined;
    if (!reason || !entry.wanted) {
      entry.state = 'disconnected';
      this.changed(entry);
      return;
    }
    entry.lastError = toErrorInfo(reason);
    this.scheduleRetry(entry);
    this.changed(entry);
  }

  private scheduleRetry(entry: Entry): void {
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** entry.failures);
    entry.failures++;
    entry.state = 'reconnecting';
    entry.retryAt = Date.now() + delay;
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      entry.retryAt = null;
      this.attempt(entry).catch(() => { /* recorded in lastError; the next retry is scheduled */ });
    }, delay);
    entry.retryTimer.unref();
  }

  private cancelRetry(entry: Entry): void {
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    entry.retryAt = null;
  }

  private async closeMaster(uriText: string): Promise<void> {
    const uri = parseLibvirtUri(uriText);
    if (uri.transport !== 'ssh') return;
    await closeSshMaster({ host: uri.host!, ...(uri.user ? { user: uri.user } : {}), ...(uri.port ? { port: uri.port } : {}) }, this.options.open.sshControlDir, this.options.open.sshConfigFile);
  }

  private changed(entry: Entry): void {
    this.options.onChange?.(status(entry));
  }
}

function status(entry: Entry): ConnectionStatus {
  return { name: entry.saved.name, uri: entry.saved.uri, autoconnect: entry.saved.autoconnect, state: entry.state, lastError: entry.lastError, retryAt: entry.retryAt };
}

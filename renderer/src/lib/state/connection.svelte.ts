import type { HostInfo } from '../../../../engine/api/virtdesk-api';
import { connectToHost, type VirtdeskClient } from '../api/client';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'session-ended';

export const SESSION_ENDED_TEXT =
  'Your Virtdesk session has ended: a browser session lasts some hours at most, and ends when unused for a while. ' +
  'Open a new launch link to continue: `virtdesk serve` prints one in its terminal when a session ends ' +
  '(or run `kill -USR1` with its process id to print one).';

/** The renderer's link to its host: status, host facts, and the client every service call uses. */
export class Connection {
  status = $state<ConnectionStatus>('connecting');
  hostInfo = $state<HostInfo | undefined>(undefined);
  error = $state<string | undefined>(undefined);
  client: VirtdeskClient | undefined;

  async connect(): Promise<void> {
    this.status = 'connecting';
    this.error = undefined;
    let sessionEnded = false;
    try {
      const client = await connectToHost(() => (sessionEnded = true));
      this.client = client;
      client.onDisconnect(() => {
        this.status = sessionEnded ? 'session-ended' : 'disconnected';
        this.error = sessionEnded ? SESSION_ENDED_TEXT : 'The connection to the Virtdesk host was lost. Reload to reconnect.';
      });
      this.hostInfo = await client.api.host.info({});
      this.status = 'connected';
    } catch (error) {
      this.status = 'disconnected';
      this.error = error instanceof Error ? error.message : String(error);
    }
  }
}

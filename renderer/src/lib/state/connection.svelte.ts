import type { HostInfo } from '../../../../engine/api/virtdesk-api';
import { connectToHost, type VirtdeskClient } from '../api/client';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

/** The renderer's link to its host: status, host facts, and the client every service call uses. */
export class Connection {
  status = $state<ConnectionStatus>('connecting');
  hostInfo = $state<HostInfo | undefined>(undefined);
  error = $state<string | undefined>(undefined);
  client: VirtdeskClient | undefined;

  async connect(): Promise<void> {
    this.status = 'connecting';
    this.error = undefined;
    try {
      const client = await connectToHost();
      this.client = client;
      client.onDisconnect(() => {
        this.status = 'disconnected';
        this.error = 'The connection to the Virtdesk host was lost. Reload to reconnect.';
      });
      this.hostInfo = await client.api.host.info({});
      this.status = 'connected';
    } catch (error) {
      this.status = 'disconnected';
      this.error = error instanceof Error ? error.message : String(error);
    }
  }
}

import { createRpcClient, type RpcClient } from '../../../../engine/api/rpc-client';
import { virtdeskContract, type VirtdeskContract } from '../../../../engine/api/virtdesk-api';
import { connectWebSocket, rpcUrl } from './websocket-transport';

export type VirtdeskClient = RpcClient<VirtdeskContract>;

/** Connects to whichever host serves this renderer. Under `serve` that is the /rpc WebSocket. */
export async function connectToHost(): Promise<VirtdeskClient> {
  const transport = await connectWebSocket(rpcUrl(window.location));
  return createRpcClient(virtdeskContract, transport, {
    defaultTimeoutMs: 60_000,
    onProtocolError: (problem) => console.warn('[rpc]', problem),
  });
}

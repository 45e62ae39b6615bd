import { createRpcClient, type RpcClient } from '../../../../engine/api/rpc-client';
import { virtdeskContract, type VirtdeskContract } from '../../../../engine/api/virtdesk-api';
import { bridgeTransport, hostBridge } from './bridge-transport';
import { connectWebSocket, rpcUrl } from './websocket-transport';

export type VirtdeskClient = RpcClient<VirtdeskContract>;

/**
 * Connects to whichever host serves this renderer: the preload bridge under Electron, else /rpc.
 * `onSessionEnded`: serve ended the browser session (Electron has none).
 */
export async function connectToHost(onSessionEnded?: () => void): Promise<VirtdeskClient> {
  const bridge = hostBridge();
  const transport = bridge ? bridgeTransport(bridge) : await connectWebSocket(rpcUrl(window.location), onSessionEnded);
  return createRpcClient(virtdeskContract, transport, {
    defaultTimeoutMs: 60_000,
    onProtocolError: (problem) => console.warn('[rpc]', problem),
  });
}

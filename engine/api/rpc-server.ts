import type { CallContext, ContractSpec, ImplementationOf, PeerInfo } from './contract';
import { findMethod } from './contract';
import { EngineError, toErrorInfo } from './errors';
import type { EventBus } from './events';
import { MAX_RPC_MESSAGE_DEPTH, nestingDepth } from './json-bounds';
import { clientMessageSchema, type ServerMessage } from './protocol';
import type { Transport } from './transport';
import { parseOrThrow } from '../model/parse';

export interface RpcServerOptions {
  /** Identifies the other end to implementations (console tickets are bound to it). */
  peer?: PeerInfo;
  /** Called for messages that fail validation; the peer also gets an error reply. */
  onProtocolError?: (problem: string) => void;
}

let connectionCounter = 0;

type AnyImplementation = Record<string, Record<string, (params: unknown, context: CallContext) => unknown>>;

/**
 * Serves a contract's implementation over one transport: validates every incoming message and
 * its params, runs calls with cancellation, and forwards subscribed events from the bus.
 */
export function serveRpc<C extends ContractSpec>(
  contract: C,
  implementation: ImplementationOf<C>,
  bus: EventBus<Record<string, unknown>>,
  transport: Transport,
  options: RpcServerOptions = {},
): { close(): void } {
  const inflight = new Map<number, AbortController>();
  const subscriptions = new Map<string, () => void>();
  const impl = implementation as unknown as AnyImplementation;
  const peer: PeerInfo = options.peer ?? { connectionId: `connection-${++connectionCounter}` };
  let closed = false;

  const send = (message: ServerMessage) => {
    if (!closed) transport.send(message);
  };
  const protocolError = (id: number | null, problem: string) => {
    options.onProtocolError?.(problem);
    send({ t: 'error', id, error: { code: 'invalid-argument', message: problem } });
  };

  async function handleCall(id: number, name: string, rawParams: unknown) {
    const spec = findMethod(contract, name);
    if (!spec) {
      send({ t: 'error', id, error: { code: 'not-found', message: `Unknown method "${name}"` } });
      return;
    }
    if (inflight.has(id)) {
      protocolError(id, `Call id ${id} is already in use`);
      return;
    }
    const controller = new AbortController();
    inflight.set(id, controller);
    try {
      const params = parseOrThrow(spec.params, rawParams, `parameters for ${name}`);
      const [service, methodName] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
      const handler = impl[service]?.[methodName];
      if (!handler) throw new EngineError('internal', `Method "${name}" has no implementation`);
      const value = await handler.call(impl[service], params, { signal: controller.signal, peer });
      if (controller.signal.aborted) throw new EngineError('cancelled', `${name} was cancelled`);
      send({ t: 'result', id, value: value === undefined ? null : value });
    } catch (error) {
      const info = controller.signal.aborted
        ? { code: 'cancelled' as const, message: `${name} was cancelled` }
        : toErrorInfo(error);
      send({ t: 'error', id, error: info });
    } finally {
      inflight.delete(id);
    }
  }

  transport.onMessage((raw) => {
    // Before anything walks the message recursively (schemas, merge patches, JSON.stringify).
    if (nestingDepth(raw, MAX_RPC_MESSAGE_DEPTH) > MAX_RPC_MESSAGE_DEPTH) {
      protocolError(messageId(raw), `Malformed message: it nests objects and arrays more than ${MAX_RPC_MESSAGE_DEPTH} levels deep; at most ${MAX_RPC_MESSAGE_DEPTH} are accepted`);
      return;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      protocolError(messageId(raw), `Malformed message: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      return;
    }
    const message = parsed.data;
    switch (message.t) {
      case 'call':
        void handleCall(message.id, message.method, message.params);
        break;
      case 'cancel':
        inflight.get(message.id)?.abort();
        break;
      case 'subscribe': {
        if (!Object.hasOwn(contract.events, message.topic)) {
          protocolError(null, `Unknown event topic "${message.topic}"`);
          break;
        }
        if (subscriptions.has(message.topic)) break;
        const topic = message.topic;
        subscriptions.set(topic, bus.on(topic, (data) => send({ t: 'event', topic, data })));
        break;
      }
      case 'unsubscribe':
        subscriptions.get(message.topic)?.();
        subscriptions.delete(message.topic);
        break;
    }
  });

  const close = () => {
    if (closed) return;
    closed = true;
    for (const controller of inflight.values()) controller.abort();
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
  };
  transport.onClose(close);
  return { close };
}

/** The call id of a message that failed a check, when it has a usable one, so the caller's call fails at once. */
function messageId(raw: unknown): number | null {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

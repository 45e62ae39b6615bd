import type * as z from 'zod';
import type { CallOptions, ClientOf, ContractSpec, EventData, MethodSpec } from './contract';
import { findMethod } from './contract';
import { EngineError } from './errors';
import { serverMessageSchema, type ClientMessage } from './protocol';
import type { Transport } from './transport';

interface Pending {
  name: string;
  spec: MethodSpec;
  resolve(value: unknown): void;
  reject(error: EngineError): void;
  cleanup(): void;
}

export interface RpcClient<C extends ContractSpec> {
  api: ClientOf<C>;
  /** Subscribes to an event topic; returns the unsubscribe function. */
  on<T extends keyof C['events'] & string>(topic: T, handler: (data: EventData<C, T>) => void): () => void;
  /** Called once when the connection to the host is gone. */
  onDisconnect(handler: () => void): void;
  readonly connected: boolean;
  close(): void;
}

export interface RpcClientOptions {
  defaultTimeoutMs?: number;
  onProtocolError?: (problem: string) => void;
}

/** A typed client of a contract over one transport. Validates every result and event it receives. */
export function createRpcClient<C extends ContractSpec>(
  contract: C,
  transport: Transport,
  options: RpcClientOptions = {},
): RpcClient<C> {
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(data: unknown) => void>>();
  const disconnectHandlers: (() => void)[] = [];
  let nextId = 1;
  let connected = true;

  const send = (message: ClientMessage) => transport.send(message);
  const protocolError = (problem: string) => options.onProtocolError?.(problem);

  function call(name: string, params: unknown, callOptions: CallOptions = {}): Promise<unknown> {
    const spec = findMethod(contract, name);
    if (!spec) return Promise.reject(new EngineError('not-found', `Unknown method "${name}"`));
    if (!connected) return Promise.reject(disconnectedError(name));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = callOptions.timeoutMs ?? options.defaultTimeoutMs;
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort('timeout'), timeoutMs);
      const onAbort = () => abort('cancelled');
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        callOptions.signal?.removeEventListener('abort', onAbort);
        pending.delete(id);
      };
      function abort(code: 'cancelled' | 'timeout') {
        if (!pending.has(id)) return;
        cleanup();
        if (connected) send({ t: 'cancel', id });
        const message = code === 'timeout' ? `${name} did not answer within ${timeoutMs} ms` : `${name} was cancelled`;
        reject(new EngineError(code, message));
      }
      pending.set(id, { name, spec, resolve, reject, cleanup });
      if (callOptions.signal?.aborted) {
        abort('cancelled');
        return;
      }
      callOptions.signal?.addEventListener('abort', onAbort, { once: true });
      send({ t: 'call', id, method: name, params: params ?? {} });
    });
  }

  transport.onMessage((raw) => {
    const parsed = serverMessageSchema.safeParse(raw);
    if (!parsed.success) {
      protocolError(`Malformed message from host: ${parsed.error.message}`);
      return;
    }
    const message = parsed.data;
    if (message.t === 'event') {
      const schema = contract.events[message.topic];
      if (!schema || !Object.hasOwn(contract.events, message.topic)) return protocolError(`Unknown event topic ${message.topic}`);
      const data = schema.safeParse(message.data);
      if (!data.success) return protocolError(`Malformed ${message.topic} event: ${data.error.message}`);
      for (const handler of [...(listeners.get(message.topic) ?? [])]) handler(data.data);
      return;
    }
    if (message.t === 'error' && message.id === null) {
      protocolError(`Host reported: ${message.error.message}`);
      return;
    }
    if (message.id === null) return;
    const entry = pending.get(message.id);
    if (!entry) return;
    entry.cleanup();
    if (message.t === 'error') {
      entry.reject(EngineError.fromInfo(message.error));
      return;
    }
    const result = (entry.spec.result as z.ZodType).safeParse(message.value);
    if (result.success) entry.resolve(result.data);
    else entry.reject(new EngineError('internal', `Malformed result of ${entry.name}: ${result.error.message}`));
  });

  transport.onClose(() => {
    if (!connected) return;
    connected = false;
    for (const entry of [...pending.values()]) {
      entry.cleanup();
      entry.reject(disconnectedError(entry.name));
    }
    for (const handler of disconnectHandlers) handler();
  });

  const api = new Proxy({} as Record<string, unknown>, {
    get(_target, service) {
      if (typeof service !== 'string') return undefined;
      return new Proxy({} as Record<string, unknown>, {
        get(_inner, methodName) {
          if (typeof methodName !== 'string') return undefined;
          return (params: unknown, callOptions?: CallOptions) => call(`${service}.${methodName}`, params, callOptions);
        },
      });
    },
  }) as ClientOf<C>;

  return {
    api,
    on(topic, handler) {
      let set = listeners.get(topic);
      if (!set) {
        listeners.set(topic, (set = new Set()));
        if (connected) send({ t: 'subscribe', topic });
      }
      const entry = handler as (data: unknown) => void;
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0) {
          listeners.delete(topic);
          if (connected) send({ t: 'unsubscribe', topic });
        }
      };
    },
    onDisconnect(handler) {
      disconnectHandlers.push(handler);
    },
    get connected() {
      return connected;
    },
    close() {
      transport.close();
    },
  };
}

function disconnectedError(name: string): EngineError {
  return new EngineError('unavailable', `${name} failed: the connection to the Virtdesk host was lost`, {
    hint: 'Reload the window; if the host was stopped, start it again.',
  });
}

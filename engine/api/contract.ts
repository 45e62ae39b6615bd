import type * as z from 'zod';

/** One RPC method: the schema of what it takes and of what it returns. */
export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  params: P;
  result: R;
}

/** A service is a named group of methods; a contract is the set of services plus event topics. */
export type ServiceSpec = Record<string, MethodSpec>;
export interface ContractSpec {
  services: Record<string, ServiceSpec>;
  events: Record<string, z.ZodType>;
}

export function method<P extends z.ZodType, R extends z.ZodType>(params: P, result: R): MethodSpec<P, R> {
  return { params, result };
}

export function defineContract<C extends ContractSpec>(contract: C): C {
  return contract;
}

/** Options every call accepts; cancellation travels to the receiving side. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * What kind of caller a peer is. `browser` (a session of `virtdesk serve`) and `app` (the desktop
 * app's renderer) name host files only inside the allowed folders; `local` (the engine's own
 * callers) is the user acting directly. Absent means local: only the hosts set it.
 */
export type PeerKind = 'browser' | 'app' | 'local';

/** Who is calling: one connection of one host; under serve, also the browser session. */
export interface PeerInfo {
  connectionId: string;
  session?: string;
  kind?: PeerKind;
}

/** Per-call context given to implementations. */
export interface CallContext {
  signal: AbortSignal;
  peer: PeerInfo;
}

export type ClientOf<C extends ContractSpec> = {
  [S in keyof C['services']]: {
    [M in keyof C['services'][S]]: (
      params: z.input<C['services'][S][M]['params']>,
      options?: CallOptions,
    ) => Promise<z.output<C['services'][S][M]['result']>>;
  };
};

export type ImplementationOf<C extends ContractSpec> = {
  [S in keyof C['services']]: {
    [M in keyof C['services'][S]]: (
      params: z.output<C['services'][S][M]['params']>,
      context: CallContext,
    ) => Promise<z.input<C['services'][S][M]['result']>> | z.input<C['services'][S][M]['result']>;
  };
};

export type EventData<C extends ContractSpec, T extends keyof C['events']> = z.output<C['events'][T]>;

/** Looks a `service.method` name up in a contract; undefined when there is no such method. */
export function findMethod(contract: ContractSpec, qualifiedName: string): MethodSpec | undefined {
  const dot = qualifiedName.indexOf('.');
  if (dot <= 0) return undefined;
  const service = contract.services[qualifiedName.slice(0, dot)];
  if (!service || !Object.hasOwn(contract.services, qualifiedName.slice(0, dot))) return undefined;
  const name = qualifiedName.slice(dot + 1);
  return Object.hasOwn(service, name) ? service[name] : undefined;
}

// libvirt's remote protocol, pinned to the version scripts/libvirt-protocol/generate.ts read.
import { XdrCodec } from '../xdr/codec';
import { remoteProcedures } from './generated/procedures';
import { xdrSchemas } from './generated/schema';
import type { XdrTypeMap } from './generated/types';

export { remoteProcedures };
export type { XdrTypeMap };
export * from './generated/constants';

export const protocolCodec = new XdrCodec<XdrTypeMap>(xdrSchemas);

export type ProcedureName = keyof typeof remoteProcedures;
type TypeOf<Name> = Name extends keyof XdrTypeMap ? XdrTypeMap[Name] : void;
/** The call arguments of a procedure (void when it takes none). */
export type ArgsOf<P extends ProcedureName> = TypeOf<(typeof remoteProcedures)[P]['args']>;
/** The reply of a procedure (void when it has none). */
export type RetOf<P extends ProcedureName> = TypeOf<(typeof remoteProcedures)[P]['ret']>;
/** The event message a procedure number carries, for event procedures. */
export type MsgOf<P extends ProcedureName> = TypeOf<(typeof remoteProcedures)[P]['msg']>;

const byNumber = new Map<number, ProcedureName>(
  (Object.entries(remoteProcedures) as [ProcedureName, { proc: number }][]).map(([name, entry]) => [entry.proc, name]),
);

export function procedureName(proc: number): ProcedureName | undefined {
  return byNumber.get(proc);
}

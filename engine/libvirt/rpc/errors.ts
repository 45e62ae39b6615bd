import { EngineError, type ErrorCode } from '../../api/errors';
import type { XdrTypeMap } from '../protocol/protocol';

// A few of libvirt's virErrorNumber values (include/libvirt/virterror.h), named where Virtdesk
// maps them to its own error codes; every other code passes through as a number.
export const LIBVIRT_ERROR = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  XML_DETAIL: 35,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  OPERATION_TIMEOUT: 68,
  OPERATION_ABORTED: 78,
  AUTH_UNAVAILABLE: 94,
} as const;

const CODE_MAP: Partial<Record<number, ErrorCode>> = {
  [LIBVIRT_ERROR.NO_SUPPORT]: 'unavailable',
  [LIBVIRT_ERROR.NO_CONNECT]: 'unavailable',
  [LIBVIRT_ERROR.INVALID_ARG]: 'invalid-argument',
  [LIBVIRT_ERROR.XML_ERROR]: 'invalid-argument',
  [LIBVIRT_ERROR.XML_DETAIL]: 'invalid-argument',
  [LIBVIRT_ERROR.DOM_EXIST]: 'already-exists',
  [LIBVIRT_ERROR.OPERATION_DENIED]: 'permission-denied',
  [LIBVIRT_ERROR.NO_DOMAIN]: 'not-found',
  [LIBVIRT_ERROR.AUTH_FAILED]: 'permission-denied',
  [LIBVIRT_ERROR.AUTH_UNAVAILABLE]: 'permission-denied',
  [LIBVIRT_ERROR.OPERATION_INVALID]: 'invalid-state',
  [LIBVIRT_ERROR.OPERATION_TIMEOUT]: 'timeout',
  [LIBVIRT_ERROR.OPERATION_ABORTED]: 'cancelled',
};

/** An error libvirt reported, with its own code, domain (the part of libvirt) and message. */
export class LibvirtError extends EngineError {
  readonly libvirtCode: number;
  readonly libvirtDomain: number;
  readonly level: number;
  readonly procedure: string;

  constructor(procedure: string, error: XdrTypeMap['virNetMessageError'], host: string) {
    const text = error.message ?? `libvirt error ${error.code}`;
    super(CODE_MAP[error.code] ?? 'internal', `${host}: ${text}`, {
      details: { host, procedure, libvirtCode: error.code, libvirtDomain: error.domain },
      ...(error.code === LIBVIRT_ERROR.NO_SUPPORT ? { hint: `The libvirt on ${host} does not offer this (${procedure}); a newer libvirt may.` } : {}),
    });
    this.name = 'LibvirtError';
    this.libvirtCode = error.code;
    this.libvirtDomain = error.domain;
    this.level = error.level;
    this.procedure = procedure;
  }
}

export type ConnectionFailure = 'closed' | 'timeout' | 'aborted' | 'protocol' | 'keepalive';

/** The connection itself failed: closed, silent past its keepalive, out of step, or a call timed out or was cancelled. */
export class LibvirtConnectionError extends EngineError {
  readonly failure: ConnectionFailure;

  constructor(failure: ConnectionFailure, message: string, options: { hint?: string; cause?: unknown } = {}) {
    const code: ErrorCode = failure === 'timeout' ? 'timeout' : failure === 'aborted' ? 'cancelled' : 'unavailable';
    super(code, message, options);
    this.name = 'LibvirtConnectionError';
    this.failure = failure;
  }
}

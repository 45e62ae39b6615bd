import { EngineError } from '../api/errors';
import type { QmpRunState } from '../qemu/qmp';

/** Where a VM is in its life, as seen from outside QEMU. */
export const VM_STATES = ['stopped', 'starting', 'running', 'paused', 'shutting-down', 'crashed'] as const;
export type VmState = (typeof VM_STATES)[number];

/** Why a QEMU process ended (or never got going). */
export type ExitReason =
  | { kind: 'guest-shutdown' }
  | { kind: 'user-stopped'; forced: boolean }
  | { kind: 'qemu-crashed'; message: string }
  | { kind: 'killed'; message: string }
  | { kind: 'failed-to-start'; message: string };

export type ExitReasonKind = ExitReason['kind'];

export function describeExitReason(reason: ExitReason): string {
  switch (reason.kind) {
    case 'guest-shutdown':
      return 'the guest shut itself down';
    case 'user-stopped':
      return reason.forced ? 'forced off by the user' : 'shut down by the user';
    case 'qemu-crashed':
      return `QEMU crashed: ${reason.message}`;
    case 'killed':
      return `QEMU was killed: ${reason.message}`;
    case 'failed-to-start':
      return `QEMU failed to start: ${reason.message}`;
  }
}

/**
 * Why a VM is in its state, when that is worth saying: how its last run ended, or, for a saved VM,
 * that its next start resumes the guest.
 */
export function stateReasonText(state: VmState, reason: ExitReason | undefined, savedAt: string | null): string | null {
  if (state === 'stopped' && savedAt !== null) return `saved at ${savedAt}; starting it resumes the guest where it was`;
  if (state !== 'stopped' && state !== 'crashed') return null;
  return reason ? describeExitReason(reason) : null;
}

/** The state a VM ends in after its QEMU exits for this reason. */
export function stateAfterExit(reason: ExitReason): VmState {
  return reason.kind === 'guest-shutdown' || reason.kind === 'user-stopped' ? 'stopped' : 'crashed';
}

/** Allowed state changes; anything else is a bug or a missed event. */
const TRANSITIONS: Record<VmState, readonly VmState[]> = {
  stopped: ['starting'],
  crashed: ['starting', 'stopped'],
  starting: ['running', 'paused', 'stopped', 'crashed'],
  running: ['paused', 'shutting-down', 'stopped', 'crashed'],
  paused: ['running', 'shutting-down', 'stopped', 'crashed'],
  'shutting-down': ['stopped', 'crashed', 'running', 'paused'],
};

export function canTransition(from: VmState, to: VmState): boolean {
  return TRANSITIONS[from].includes(to);
}

export type VmOperation =
  | 'start'
  | 'stop'
  | 'force-stop'
  | 'reboot'
  | 'reset'
  | 'pause'
  | 'resume'
  | 'screenshot'
  | 'send-keys'
  | 'console'
  | 'delete'
  | 'edit';

/** States each operation may be asked for in. */
const ALLOWED: Record<VmOperation, readonly VmState[]> = {
  start: ['stopped', 'crashed'],
  stop: ['running', 'paused', 'shutting-down'],
  'force-stop': ['starting', 'running', 'paused', 'shutting-down'],
  reboot: ['running'],
  reset: ['running', 'paused'],
  pause: ['running'],
  resume: ['paused'],
  screenshot: ['running', 'paused', 'shutting-down'],
  'send-keys': ['running'],
  console: ['starting', 'running', 'paused', 'shutting-down'],
  delete: ['stopped', 'crashed'],
  edit: ['stopped', 'crashed', 'starting', 'running', 'paused', 'shutting-down'],
};

export function isOperationAllowed(operation: VmOperation, state: VmState): boolean {
  return ALLOWED[operation].includes(state);
}

const VERB: Record<VmOperation, string> = {
  start: 'start',
  stop: 'stop',
  'force-stop': 'force off',
  reboot: 'reboot',
  reset: 'reset',
  pause: 'pause',
  resume: 'resume',
  screenshot: 'take a screenshot of',
  'send-keys': 'send keys to',
  console: 'attach to the console of',
  delete: 'delete',
  edit: 'edit',
};

function hintFor(operation: VmOperation, state: VmState, name: string): string | undefined {
  if (operation === 'start' && (state === 'running' || state === 'paused')) {
    return `Open its console, or stop it first with \`virtdesk vm stop ${name}\`.`;
  }
  if (operation === 'delete') return `Stop it first with \`virtdesk vm stop ${name}\` (or \`--force\`).`;
  if (operation === 'resume' && state === 'running') return undefined;
  if (state === 'stopped' || state === 'crashed') return `Start it with \`virtdesk vm start ${name}\`.`;
  if (state === 'paused') return `Resume it with \`virtdesk vm resume ${name}\`.`;
  if (state === 'starting') return 'Wait until it has started.';
  return undefined;
}

/** Throws invalid-state, in words, when `operation` makes no sense in `state`. */
export function assertOperationAllowed(operation: VmOperation, state: VmState, name: string): void {
  if (isOperationAllowed(operation, state)) return;
  const hint = hintFor(operation, state, name);
  throw new EngineError('invalid-state', `Cannot ${VERB[operation]} VM "${name}": it is ${state === 'shutting-down' ? 'shutting down' : state}.`, {
    ...(hint === undefined ? {} : { hint }),
    details: { operation, state },
  });
}

/** Holds one VM's state and refuses transitions the table does not allow. */
export class VmStateMachine {
  #state: VmState;
  #reason: ExitReason | undefined;
  readonly #listeners = new Set<(state: VmState, reason: ExitReason | undefined) => void>();

  constructor(initial: VmState = 'stopped', reason?: ExitReason) {
    this.#state = initial;
    this.#reason = reason;
  }

  get state(): VmState {
    return this.#state;
  }

  /** Why the last QEMU ended; undefined while one runs or before the first start. */
  get exitReason(): ExitReason | undefined {
    return this.#reason;
  }

  /** Moves to `to`; returns false (and changes nothing) when the move is not allowed. */
  transition(to: VmState, reason?: ExitReason): boolean {
    if (to === this.#state) return true;
    if (!canTransition(this.#state, to)) return false;
    this.#state = to;
    if (to === 'stopped' || to === 'crashed') this.#reason = reason;
    else if (to === 'starting') this.#reason = undefined;
    for (const listener of [...this.#listeners]) listener(to, this.#reason);
    return true;
  }

  /** Sets the state from an observation (re-attach), bypassing the table. */
  reset(state: VmState, reason?: ExitReason): void {
    const changed = state !== this.#state;
    this.#state = state;
    this.#reason = reason;
    if (changed) for (const listener of [...this.#listeners]) listener(state, reason);
  }

  onChange(listener: (state: VmState, reason: ExitReason | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** QEMU's run state as a Virtdesk state. */
export function vmStateOfRunState(state: QmpRunState): VmState {
  switch (state) {
    case 'running':
    case 'colo':
      return 'running';
    case 'prelaunch':
    case 'inmigrate':
      return 'starting';
    case 'shutdown':
      return 'shutting-down';
    default:
      // paused, suspended, debug, io-error, watchdog, guest-panicked, internal-error, save/restore:
      // the vCPUs are stopped and `cont` (or a reset) is what moves the VM on.
      return 'paused';
  }
}

/**
 * Entry point of a VM supervisor process (`child_process.fork` under `serve`, an Electron
 * utilityProcess under the app). The host sends one `attach`; the process exits when QEMU has
 * ended and been accounted for, on `detach`, or when the host goes away. QEMU never depends on it.
 */
import { VmSupervisor } from './supervisor';
import type { HostToSupervisor, SupervisorToHost } from './supervisor-protocol';
import { connectToParent } from './worker-parent';

const port = connectToParent<HostToSupervisor, SupervisorToHost>();
let supervisor: VmSupervisor | undefined;
let prefix = `[supervisor pid ${process.pid}]`;

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${prefix} ${message}\n`);
  port.postMessage({ type: 'error', message, fatal: true });
  // Let the message flush before leaving; the host restarts us with back-off.
  setTimeout(() => process.exit(1), 50);
}

port.onMessage((message) => {
  switch (message.type) {
    case 'attach': {
      if (supervisor) return;
      prefix = `[vm ${message.vmName} ${message.vmId.slice(0, 8)} supervisor pid ${process.pid}]`;
      const current = new VmSupervisor({ ...message, send: (out) => port.postMessage(out) });
      supervisor = current;
      current.attach().catch(fail);
      void current.finished.then(() => setTimeout(() => process.exit(0), 20));
      break;
    }
    case 'detach':
      void (supervisor ? supervisor.detach() : Promise.resolve()).then(() => process.exit(0));
      break;
    case 'stats-interval':
      supervisor?.setStatsInterval(message.ms);
      break;
  }
});

// The host died or closed the channel: stop watching; QEMU keeps running and a new host re-attaches.
port.onDisconnect(() => {
  void (supervisor ? supervisor.detach() : Promise.resolve()).then(() => process.exit(0));
});

// One fake libvirt host per integration run, shared by the libvirt test files (~1.5 s to come
// up): its own namespaces, virtlogd, libvirtd and sshd on a bridge (tests/support/libvirt-host).
// Test files read it with inject('libvirtHost'); a machine that cannot run it says why instead.
import type { TestProject } from 'vitest/node';
import { fakeHostsUnavailable, startFakeHost, startSwitch, type FakeHost, type FakeSwitch } from '../support/libvirt-host/libvirt-host';

export interface SharedLibvirtHost {
  /** Why there is no host (the libvirt tests skip with it). */
  unavailable?: string;
  hostname?: string;
  hostUuid?: string;
  root?: string;
  socket?: string;
  address?: string;
  sshUri?: string;
  clientKey?: string;
  knownHosts?: string;
  hostKeyFingerprint?: string;
  libvirtdPid?: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    libvirtHost: SharedLibvirtHost;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const unavailable = fakeHostsUnavailable();
  if (unavailable) {
    project.provide('libvirtHost', { unavailable });
    return async () => {};
  }
  let fabric: FakeSwitch | undefined;
  let host: FakeHost | undefined;
  try {
    fabric = await startSwitch();
    host = await startFakeHost({ hostname: `vd-fake-${fabric.namespace.slice(-6)}`, network: { switch: fabric, index: 1 } });
    project.provide('libvirtHost', {
      hostname: host.hostname,
      hostUuid: host.hostUuid,
      root: host.root,
      socket: host.socket,
      address: host.address!,
      sshUri: host.sshUri!(),
      clientKey: host.ssh!.clientKey,
      knownHosts: host.ssh!.knownHosts,
      hostKeyFingerprint: host.ssh!.hostKeyFingerprint,
      libvirtdPid: host.pid,
    });
  } catch (error) {
    await host?.stop();
    await fabric?.stop();
    project.provide('libvirtHost', { unavailable: `the fake libvirt host did not start: ${(error as Error).message}` });
    return async () => {};
  }
  return async () => {
    await host?.stop();
    await fabric?.stop();
  };
}

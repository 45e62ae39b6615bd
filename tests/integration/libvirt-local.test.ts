// The libvirt client against a real libvirtd 9.0 (the shared fake host's, through its unix
// socket) and its test:///default driver: no QEMU involved.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLibvirtConnection } from '../../engine/libvirt/connection/open-connection';
import type { LibvirtConnection } from '../../engine/libvirt/connection/libvirt-connection';
import type { DomainEvent } from '../../engine/libvirt/domains/domain-types';
import { LibvirtError } from '../../engine/libvirt/rpc/errors';
import { LibvirtConnectionError } from '../../engine/libvirt/rpc/errors';

const shared = inject('libvirtHost');
const testUri = `test:///default?socket=${shared.socket}`;
const open = (uri = testUri) => openLibvirtConnection(uri, { sshControlDir: '/nonexistent' });

const domainXml = (name: string) => `<domain type='test'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>`;

describe.skipIf(shared.unavailable !== undefined)(`libvirt client on a local socket${shared.unavailable ? ` (skipped: ${shared.unavailable})` : ''}`, () => {
  let connection: LibvirtConnection;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const started = performance.now();
    connection = await open();
    timings.open = performance.now() - started;
  });
  afterAll(async () => {
    await connection?.close();
    console.log(`libvirt test:///default over the unix socket (ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  });

  it('reads the host: name, versions, capabilities', async () => {
    expect(await connection.hostname()).toBe(shared.hostname);
    expect((await connection.versions()).libvirt).toBe('9.0.0');
    expect(await connection.capabilities()).toContain('<capabilities>');
    expect((await connection.nodeInfo()).cpus).toBeGreaterThan(0);
  });

  it('lists the test driver\'s domain and looks it up by name and UUID', async () => {
    const started = performance.now();
    const domains = await connection.listAllDomains();
    timings.list = performance.now() - started;
    const test = domains.find((domain) => domain.name === 'test');
    expect(test).toMatchObject({ name: 'test', id: 1 });
    expect(await connection.lookupDomain('test')).toEqual(test);
    expect(await connection.lookupDomain(test!.uuid)).toEqual(test);
    expect(await connection.domainXml(test!)).toContain("<name>test</name>");
  });

  it('defines, starts, suspends, resumes, saves, shuts down and undefines a domain, with the events', async () => {
    const events: DomainEvent[] = [];
    const stop = await connection.onDomainEvent((event) => events.push(event));
    const name = `vd-${Date.now().toString(36)}`;
    let started = performance.now();
    const defined = await connection.defineXml(domainXml(name));
    timings.define = performance.now() - started;
    expect(defined).toMatchObject({ name, id: -1 });
    started = performance.now();
    const running = await connection.start(defined);
    timings.start = performance.now() - started;
    expect((await connection.state(running)).state).toBe('running');
    await connection.suspend(running);
    expect((await connection.info(running)).state).toBe('paused');
    await connection.resume(running);
    await connection.managedSave(running);
    expect(await connection.hasManagedSave(running)).toBe(true);
    expect((await connection.state(running)).state).toBe('shutoff');
    await connection.start(running);
    expect(await connection.hasManagedSave(running)).toBe(false);
    await connection.reboot(running);
    await connection.shutdown(running);
    expect((await connection.state(running)).state).toBe('shutoff');
    await connection.undefine(running);
    await expect(connection.lookupDomain(name)).rejects.toMatchObject({ libvirtCode: 42, code: 'not-found' });
    await waitFor(() => events.some((event) => event.kind === 'lifecycle' && event.event === 'undefined' && event.domain.name === name));
    stop();
    const ours = events.filter((event) => event.domain.name === name).map((event) => event.kind === 'lifecycle' ? event.event : event.kind);
    // The test driver sends no reboot event and stops a managed save without suspending first.
    expect(ours).toEqual(['defined', 'started', 'suspended', 'resumed', 'stopped', 'started', 'stopped', 'undefined']);
  });

  it('forces a domain off with destroy', async () => {
    const domain = await connection.start(await connection.defineXml(domainXml(`vd-destroy-${Date.now().toString(36)}`)));
    await connection.destroy(domain);
    expect((await connection.state(domain)).state).toBe('shutoff');
    await connection.undefine(domain);
  });

  it('reads every domain\'s stats in one call', async () => {
    const records = await connection.allDomainStats();
    const test = records.find((record) => record.domain.name === 'test');
    expect(test?.stats['state.state']).toBe(1);
    expect(test?.stats['state.reason']).toBeTypeOf('number');
    const only = await connection.allDomainStats(1, 0, [test!.domain]);
    expect(only.map((record) => record.domain.name)).toEqual(['test']);
  });

  it('reports libvirt\'s own error code, domain and message', async () => {
    const error = await connection.lookupDomain('no-such-domain').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LibvirtError);
    expect(error).toMatchObject({ code: 'not-found', libvirtCode: 42, libvirtDomain: 12, procedure: 'DOMAIN_LOOKUP_BY_NAME' });
    expect((error as Error).message).toMatch(/^test:\/\/\/default: Domain not found/);
    const bad = await connection.defineXml('<domain type="test"><name>x').catch((caught: unknown) => caught);
    expect(bad).toMatchObject({ code: 'invalid-argument', libvirtCode: 35 }); // VIR_ERR_XML_DETAIL
  });

  it('cancels a call with an AbortSignal and keeps the connection usable', async () => {
    const controller = new AbortController();
    const call = connection.listAllDomains(0, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(LibvirtConnectionError);
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
    expect((await connection.listAllDomains()).length).toBeGreaterThan(0);
  });

  it('answers many concurrent calls, each with its own reply', async () => {
    const names = await Promise.all(Array.from({ length: 50 }, () => connection.lookupDomain('test').then((domain) => domain.name)));
    expect(new Set(names)).toEqual(new Set(['test']));
  });

  it('says clearly when no daemon listens, or the URI is not supported', async () => {
    await expect(open('test:///default?socket=/nonexistent/libvirt-sock')).rejects.toThrow(/No libvirt daemon listens at \/nonexistent\/libvirt-sock/);
    await expect(open('xen:///system')).rejects.toThrow(/the driver 'xen' is not supported/);
    await expect(open('qemu+tls://host/system')).rejects.toThrow(/the transport 'tls' is not supported/);
  });

  it('fails pending calls when the connection closes', async () => {
    const other = await open();
    const pending = other.listAllDomains();
    other.client.close();
    await expect(pending).rejects.toMatchObject({ code: 'unavailable' });
    await expect(other.hostname()).rejects.toThrow(/closed/);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// LibvirtConnection's events: it registers one callback per event kind with libvirt, and maps
// each event message (as libvirtd 9.0 sends them) to a typed DomainEvent.
import { describe, expect, it } from 'vitest';
import { LibvirtConnection } from '../../../engine/libvirt/connection/libvirt-connection';
import type { DomainEvent } from '../../../engine/libvirt/domains/domain-types';
import { parseLibvirtUri } from '../../../engine/libvirt/uri';
import { RpcClient } from '../../../engine/libvirt/rpc/client';
import { PacketDecoder, encodePacket } from '../../../engine/libvirt/rpc/packet';
import { REMOTE_PROGRAM, protocolCodec, remoteProcedures, type XdrTypeMap } from '../../../engine/libvirt/protocol/protocol';
import type { ByteChannel } from '../../../engine/libvirt/transport/channel';

const dom = { name: 'web', uuid: Buffer.from('00112233445566778899aabbccddeeff', 'hex'), id: 7 };

function connectionWithPeer() {
  const decoder = new PacketDecoder();
  let deliver: (chunk: Buffer) => void = () => {};
  const registered: number[] = [];
  const channel: ByteChannel = {
    label: 'memory',
    write: (data) => {
      for (const { header, payload } of decoder.push(data)) {
        if (header.proc !== remoteProcedures.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY.proc) continue;
        const { eventID } = protocolCodec.decode('remote_connect_domain_event_callback_register_any_args', payload);
        registered.push(eventID);
        const ret = protocolCodec.encode('remote_connect_domain_event_callback_register_any_ret', { callbackID: registered.length });
        queueMicrotask(() => deliver(encodePacket({ ...header, type: 1 }, ret)));
      }
    },
    onData: (listener) => { deliver = listener; },
    closed: new Promise(() => {}),
    close: () => {},
  };
  const connection = new LibvirtConnection(parseLibvirtUri('test:///default'), new RpcClient(channel, { host: 'memory' }));
  const send = <N extends keyof XdrTypeMap>(procedure: keyof typeof remoteProcedures, type: N, message: XdrTypeMap[N]) =>
    deliver(encodePacket({ prog: REMOTE_PROGRAM, vers: 1, proc: remoteProcedures[procedure].proc, type: 2, serial: 0, status: 0 }, protocolCodec.encode(type, message)));
  return { connection, registered, send };
}

describe('domain events', () => {
  it('registers lifecycle, reboot and device added/removed callbacks, and maps their messages', async () => {
    const { connection, registered, send } = connectionWithPeer();
    const events: DomainEvent[] = [];
    await connection.onDomainEvent((event) => events.push(event));
    expect(registered).toEqual([0, 1, 15, 19]);
    send('DOMAIN_EVENT_CALLBACK_LIFECYCLE', 'remote_domain_event_callback_lifecycle_msg', { callbackID: 1, msg: { dom, event: 5, detail: 1 } });
    send('DOMAIN_EVENT_CALLBACK_REBOOT', 'remote_domain_event_callback_reboot_msg', { callbackID: 2, msg: { dom } });
    send('DOMAIN_EVENT_CALLBACK_DEVICE_ADDED', 'remote_domain_event_callback_device_added_msg', { callbackID: 4, dom, devAlias: 'net1' });
    send('DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED', 'remote_domain_event_callback_device_removed_msg', { callbackID: 3, msg: { dom, devAlias: 'virtio-disk1' } });
    send('DOMAIN_EVENT_CALLBACK_LIFECYCLE', 'remote_domain_event_callback_lifecycle_msg', { callbackID: 1, msg: { dom, event: 42, detail: 0 } });
    const domain = { name: 'web', uuid: '00112233-4455-6677-8899-aabbccddeeff', id: 7 };
    expect(events).toEqual([
      { kind: 'lifecycle', domain, event: 'stopped', detail: 1 },
      { kind: 'reboot', domain },
      { kind: 'device-added', domain, alias: 'net1' },
      { kind: 'device-removed', domain, alias: 'virtio-disk1' },
      { kind: 'lifecycle', domain, event: 'event-42', detail: 0 },
    ]);
  });

  it('registers with libvirt once however many listeners there are', async () => {
    const { connection, registered } = connectionWithPeer();
    const stopA = await connection.onDomainEvent(() => {});
    await connection.onDomainEvent(() => {});
    expect(registered).toHaveLength(4);
    stopA();
  });
});

// libvirt's RPC framing: a 4-byte big-endian length (counting itself), a virNetMessageHeader,
// then the XDR payload.
import { VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_MAX, protocolCodec } from '../protocol/protocol';
import type { XdrTypeMap } from '../protocol/protocol';
import { XdrReader } from '../xdr/reader';

export type PacketHeader = XdrTypeMap['virNetMessageHeader'];

export interface Packet {
  header: PacketHeader;
  payload: Buffer;
}

const LENGTH_BYTES = 4;
const HEADER_BYTES = VIR_NET_MESSAGE_HEADER_MAX;

export function encodePacket(header: PacketHeader, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const encoded = protocolCodec.encode('virNetMessageHeader', header);
  const packet = Buffer.allocUnsafe(LENGTH_BYTES + encoded.length + payload.length);
  packet.writeUInt32BE(packet.length, 0);
  encoded.copy(packet, LENGTH_BYTES);
  packet.set(payload, LENGTH_BYTES + encoded.length);
  return packet;
}

export class PacketError extends Error {
  override readonly name = 'PacketError';
}

/** Cuts a byte stream into packets; throws PacketError on a length no libvirt peer sends. */
export class PacketDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Packet[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const packets: Packet[] = [];
    while (this.buffered >= LENGTH_BYTES) {
      const head = this.peek(LENGTH_BYTES);
      const length = head.readUInt32BE(0);
      if (length < LENGTH_BYTES + HEADER_BYTES || length > VIR_NET_MESSAGE_MAX) {
        throw new PacketError(`a packet of ${length} bytes is outside libvirt's limits (${LENGTH_BYTES + HEADER_BYTES}..${VIR_NET_MESSAGE_MAX}): not a libvirt peer, or the stream is out of step`);
      }
      if (this.buffered < length) break;
      const bytes = this.take(length);
      const reader = new XdrReader(bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + HEADER_BYTES));
      packets.push({ header: protocolCodec.read(reader, 'virNetMessageHeader'), payload: bytes.subarray(LENGTH_BYTES + HEADER_BYTES) });
    }
    return packets;
  }

  private peek(bytes: number): Buffer {
    if (this.chunks[0]!.length < bytes) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(bytes: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = joined.length > bytes ? [joined.subarray(bytes)] : [];
    this.buffered -= bytes;
    return joined.subarray(0, bytes);
  }
}

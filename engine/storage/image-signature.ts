import { open } from 'node:fs/promises';

/**
 * What a file that qemu-img probes as "raw" holds, judged by well-known on-disk signatures.
 * qemu-img reads every file as raw, so this is how "a text file is not a disk image" is told apart
 * from a raw disk. Returns undefined when nothing recognisable is there.
 */
export async function rawContentSignature(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(Math.min(size, 0x10000 + 0x100));
    await handle.read(head, 0, head.length, 0);
    const at = (offset: number, text: string) => head.length >= offset + text.length && head.toString('latin1', offset, offset + text.length) === text;
    if (at(512, 'EFI PART')) return 'GPT partition table';
    if (at(0x8001, 'CD001')) return 'ISO 9660 file system';
    if (at(0, 'XFSB')) return 'XFS file system';
    if (at(0, 'LUKS\xba\xbe')) return 'LUKS encrypted volume';
    if (at(512 + 24, 'LVM2 001')) return 'LVM physical volume';
    if (head.length >= 1082 && head.readUInt16LE(1080) === 0xef53) return 'ext2/3/4 file system';
    if (at(0x10040, '_BHRfS_M')) return 'Btrfs file system';
    if (at(4086, 'SWAPSPACE2')) return 'Linux swap';
    if (at(3, 'NTFS    ')) return 'NTFS file system';
    if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) return 'MBR boot sector';
    return undefined;
  } finally {
    await handle.close();
  }
}

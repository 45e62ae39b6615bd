/**
 * A byte pipe to a libvirt daemon: a unix socket, or an ssh process's stdin and stdout.
 * `closed` settles once, with why the pipe ended (undefined: closed on purpose by us).
 */
export interface ByteChannel {
  /** Where it goes, for messages: `root@10.0.0.2 (ssh)`, `/run/libvirt/libvirt-sock`. */
  readonly label: string;
  write(data: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  readonly closed: Promise<Error | undefined>;
  close(): void;
}

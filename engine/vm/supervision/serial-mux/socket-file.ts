import { lstat, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { EngineError } from '../../../api/errors';

/** True when something listens on the unix socket `path` and takes a connection within `timeoutMs`. */
export function socketAccepts(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Makes `path` free for a new listening socket. A socket file nobody listens on (left by a
 * supervisor killed with SIGKILL) is removed; a live one, or anything that is not a socket, is
 * left alone and reported, so we never take over another process's listener or delete a file.
 */
export async function claimSocketPath(path: string): Promise<void> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return;
  if (!info.isSocket()) {
    throw new EngineError('conflict', `Cannot listen on ${path}: a file that is not a socket is in its place.`, { hint: `Remove ${path} and re-attach.` });
  }
  if (await socketAccepts(path)) {
    throw new EngineError('conflict', `Another process already serves ${path}.`, { hint: 'Only one supervisor per VM runs the serial console multiplexer; viewers can use that one.' });
  }
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** The inode of `path`, to recognise our own socket file later (a successor may have replaced it). */
export async function inodeOf(path: string): Promise<number | undefined> {
  return stat(path).then((info) => info.ino, () => undefined);
}

/** Removes `path` only if it is still the file with inode `ino`. */
export async function unlinkIfSame(path: string, ino: number | undefined): Promise<void> {
  if (ino === undefined) return;
  const current = await lstat(path).catch(() => undefined);
  if (current?.ino === ino) await unlink(path).catch(() => undefined);
}

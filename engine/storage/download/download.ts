import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, rm, stat, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { basename, dirname, join } from 'node:path';
import { EngineError } from '../../api/errors';

export interface DownloadProgress {
  receivedBytes: number;
  /** Unknown when the server does not say. */
  totalBytes?: number;
  percent?: number;
  /** How many times the transfer resumed after a dropped connection (or picked up an earlier partial file). */
  resumes: number;
}

export interface DownloadRequest {
  url: string;
  /** The finished file. Never overwritten; the partial data lives in a hidden `.NAME.part` beside it. */
  target: string;
  /** Expected SHA-256 (hex). A mismatch deletes the partial file and nothing is published. */
  sha256?: string;
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancelling removes the partial file unless `keepPartialOnCancel`. */
  signal?: AbortSignal;
  keepPartialOnCancel?: boolean;
  /** Reconnects after a dropped connection, each resuming with an HTTP Range request. Default 5. */
  maxRetries?: number;
  /** Pause before reconnecting, doubled each time. Default 500 ms. */
  retryDelayMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  resumes: number;
}

export function partialPathOf(target: string): string {
  return join(dirname(target), `.${basename(target)}.part`);
}

class TransferInterrupted extends Error {}

interface Attempt {
  status: 'complete' | 'interrupted';
}

function validateRequest(request: DownloadRequest): URL {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new EngineError('invalid-argument', `"${request.url}" is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EngineError('invalid-argument', `Only http and https downloads are supported, not ${url.protocol.replace(/:$/, '')}.`, {
      hint: 'For a local file, use import (disk images) or `virtdesk iso add` (ISOs) instead.',
    });
  }
  if (request.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(request.sha256)) {
    throw new EngineError('invalid-argument', `"${request.sha256}" is not a SHA-256 checksum (64 hexadecimal digits).`);
  }
  return url;
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then((s) => s.size).catch(() => 0);
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function get(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers, ...(signal ? { signal } : {}) }, resolve);
    request.on('error', reject);
  });
}

/** One HTTP request: follows redirects, appends to the partial file, resolves when the body ends or breaks. */
async function attempt(url: URL, part: string, request: DownloadRequest, progress: DownloadProgress, report: (force?: boolean) => void, redirects = 0): Promise<Attempt> {
  const offset = await fileSize(part);
  const headers: Record<string, string> = { 'user-agent': 'virtdesk' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  let response: http.IncomingMessage;
  try {
    response = await get(url, headers, request.signal);
  } catch (error) {
    if (request.signal?.aborted) throw error;
    throw new TransferInterrupted((error as Error).message);
  }
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400 && response.headers.location) {
    response.resume();
    if (redirects >= 5) throw new EngineError('unavailable', `Downloading ${request.url} failed: too many redirects.`);
    return attempt(new URL(response.headers.location, url), part, request, progress, report, redirects + 1);
  }
  if (status === 416 && offset > 0) {
    // The partial file already holds everything (the connection dropped after the last byte).
    response.resume();
    const total = Number(/\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1]);
    if (total === offset) return { status: 'complete' };
    await rm(part, { force: true });
    throw new TransferInterrupted('the server refused to resume; starting over');
  }
  if (status !== 200 && status !== 206) {
    response.resume();
    throw new EngineError(status === 404 || status === 410 ? 'not-found' : 'unavailable', `Downloading ${request.url} failed: the server answered HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}.`);
  }
  const resuming = status === 206;
  let start = resuming ? offset : 0;
  if (resuming) {
    const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
    if (!match || Number(match[1]) !== offset) {
      response.resume();
      await rm(part, { force: true });
      throw new TransferInterrupted('the server resumed at the wrong place; starting over');
    }
    if (match[2] !== '*') progress.totalBytes = Number(match[2]);
  } else {
    const length = Number(response.headers['content-length']);
    if (Number.isFinite(length) && length >= 0) progress.totalBytes = length;
    else delete progress.totalBytes;
  }
  const expectedEnd = progress.totalBytes;
  let handle: FileHandle | undefined;
  try {
    handle = await open(part, resuming ? 'a' : 'w');
    progress.receivedBytes = start;
    // Always tell when a transfer (re)starts, whatever the throttle says.
    report(true);
    for await (const chunk of response) {
      const bytes = chunk as Buffer;
      await handle.write(bytes);
      start += bytes.length;
      progress.receivedBytes = start;
      report();
    }
  } catch (error) {
    if (request.signal?.aborted) throw error;
    if (error instanceof EngineError) throw error;
    return { status: 'interrupted' };
  } finally {
    await handle?.close();
  }
  if (!response.complete || (expectedEnd !== undefined && start < expectedEnd)) return { status: 'interrupted' };
  return { status: 'complete' };
}

/**
 * Downloads a URL into `target` with progress, resuming after dropped connections (HTTP Range into
 * `.NAME.part`, also across runs), SHA-256 verification and cancellation. The target appears only
 * when complete and verified.
 */
export async function downloadFile(request: DownloadRequest): Promise<DownloadResult> {
  const url = validateRequest(request);
  if (await stat(request.target).then(() => true, () => false)) {
    throw new EngineError('already-exists', `"${request.target}" already exists.`, { hint: 'Choose another name, or delete the existing file first.' });
  }
  const part = partialPathOf(request.target);
  const existing = await fileSize(part);
  const progress: DownloadProgress = { receivedBytes: existing, resumes: existing > 0 ? 1 : 0 };
  let lastReport = 0;
  const report = (force = false) => {
    const now = Date.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    const event: DownloadProgress = { ...progress };
    if (progress.totalBytes) event.percent = Math.min(100, (progress.receivedBytes / progress.totalBytes) * 100);
    request.onProgress?.(event);
  };
  const maxRetries = request.maxRetries ?? 5;
  let delay = request.retryDelayMs ?? 500;
  let retries = 0;
  try {
    for (;;) {
      let outcome: Attempt;
      try {
        outcome = await attempt(url, part, request, progress, (force) => report(force));
      } catch (error) {
        if (!(error instanceof TransferInterrupted)) throw error;
        outcome = { status: 'interrupted' };
      }
      if (outcome.status === 'complete') break;
      if (request.signal?.aborted) throw new Error('aborted');
      if (retries >= maxRetries) {
        throw new EngineError('unavailable', `Downloading ${request.url} failed: the connection dropped ${retries + 1} times. ${progress.receivedBytes} bytes are kept and the next attempt resumes from there.`, {
          hint: 'Check the network and try again.',
        });
      }
      retries += 1;
      progress.resumes += 1;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  } catch (error) {
    if (request.signal?.aborted) {
      if (!request.keepPartialOnCancel) await rm(part, { force: true });
      throw new EngineError('cancelled', `The download of ${request.url} was cancelled.`);
    }
    throw error;
  }
  progress.receivedBytes = await fileSize(part);
  report(true);
  const digest = await sha256Of(part);
  if (request.sha256 !== undefined && digest !== request.sha256.toLowerCase()) {
    await rm(part, { force: true });
    throw new EngineError('invalid-state', `The download of ${request.url} does not match its checksum: expected SHA-256 ${request.sha256.toLowerCase()}, got ${digest}. The partial file was removed.`, {
      hint: 'The file may be corrupt or altered in transit, or the checksum may be for another file. Check both and download again.',
      details: { expected: request.sha256.toLowerCase(), actual: digest },
    });
  }
  try {
    await link(part, request.target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new EngineError('already-exists', `"${request.target}" appeared during the download; the download is kept as ${part}.`);
    throw error;
  }
  await rm(part, { force: true });
  return { path: request.target, bytes: progress.receivedBytes, sha256: digest, resumes: progress.resumes };
}

/** The file name a URL suggests: its last path segment, decoded. */
export function fileNameFromUrl(url: string): string | undefined {
  try {
    const segment = new URL(url).pathname.split('/').filter(Boolean).at(-1);
    return segment ? decodeURIComponent(segment) : undefined;
  } catch {
    return undefined;
  }
}

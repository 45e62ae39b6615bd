import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appProtocolHandler } from '../../../main/electron/app-protocol';
import { ELECTRON_CSP } from '../../../main/electron/security';

let dir: string;
let root: string;
const fetched: string[] = [];

/** net.fetch of a file: URL, as far as this handler cares. */
async function fetchFile(url: string): Promise<Response> {
  fetched.push(url);
  const body = await readFile(fileURLToPath(url));
  return new Response(body, { status: 200, headers: { 'Content-Type': url.endsWith('.js') ? 'text/javascript' : 'text/html' } });
}

const isFile = async (path: string) => (await stat(path)).isFile();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vd-app-protocol-'));
  root = join(dir, 'renderer');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><div id="app"></div>');
  await writeFile(join(root, 'assets', 'index.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'outside the renderer');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('app:// protocol handler', () => {
  const handler = () => appProtocolHandler({ rendererRoot: root, fetchFile, isFile });

  it('serves renderer files with the strict CSP and nosniff', async () => {
    const response = await handler()(new Request('app://virtdesk/index.html'));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="app">');
    expect(response.headers.get('Content-Security-Policy')).toBe(ELECTRON_CSP);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('Content-Type')).toBe('text/html');

    const script = await handler()(new Request('app://virtdesk/assets/index.js'));
    expect(script.status).toBe(200);
    expect(script.headers.get('Content-Security-Policy')).toBe(ELECTRON_CSP);
  });

  it('serves index.html for the bare origin', async () => {
    const response = await handler()(new Request('app://virtdesk/'));
    expect(await response.text()).toContain('<div id="app">');
  });

  it('refuses paths outside the renderer folder, folders, missing files and other hosts — with the CSP too', async () => {
    fetched.length = 0;
    for (const url of [
      'app://virtdesk/a%2F..%2F..%2Fsecret.txt',
      'app://virtdesk/..%2fsecret.txt',
      'app://virtdesk/assets',
      'app://virtdesk/assets/',
      'app://virtdesk/missing.js',
      'app://virtdesk/a%00b',
      'app://virtdesk/%E0%A4%A',
      'app://other/index.html',
    ]) {
      const response = await handler()(new Request(url));
      expect(response.status, url).toBe(404);
      expect(response.headers.get('Content-Security-Policy'), url).toBe(ELECTRON_CSP);
      expect(await response.text(), url).not.toContain('outside the renderer');
    }
    // Nothing outside the root was even read.
    expect(fetched).toEqual([]);
  });

  it('answers only GET and HEAD', async () => {
    const post = await handler()(new Request('app://virtdesk/index.html', { method: 'POST', body: 'x' }));
    expect(post.status).toBe(405);
    const head = await handler()(new Request('app://virtdesk/index.html', { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(head.headers.get('Content-Security-Policy')).toBe(ELECTRON_CSP);
  });

  it('answers 404 when reading the file fails', async () => {
    const failing = appProtocolHandler({ rendererRoot: root, fetchFile: () => Promise.reject(new Error('net::ERR_FILE_NOT_FOUND')), isFile });
    const response = await failing(new Request('app://virtdesk/index.html'));
    expect(response.status).toBe(404);
  });
});

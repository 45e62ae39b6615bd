import { describe, expect, it } from 'vitest';
import { linkEndpointPaths } from '../../../engine/network/link-endpoints';

describe('link endpoints', () => {
  it('pairs the two ends crosswise in the runtime folder', () => {
    const env = { VIRTDESK_RUNTIME_DIR: '/run/user/1000/virtdesk' };
    expect(linkEndpointPaths('/home/u/.local/share/virtdesk', 'lab', 'a', env)).toEqual({
      localPath: '/run/user/1000/virtdesk/links/lab/a.sock',
      remotePath: '/run/user/1000/virtdesk/links/lab/b.sock',
    });
    expect(linkEndpointPaths('/h', 'lab', 'b', env)).toEqual({
      localPath: '/run/user/1000/virtdesk/links/lab/b.sock',
      remotePath: '/run/user/1000/virtdesk/links/lab/a.sock',
    });
  });

  it('falls back to a short folder when a socket path would not fit in sun_path', () => {
    const env = { VIRTDESK_RUNTIME_DIR: `/tmp/${'x'.repeat(90)}` };
    const { localPath } = linkEndpointPaths('/h', 'lab', 'a', env);
    expect(Buffer.byteLength(localPath)).toBeLessThanOrEqual(107);
    expect(localPath).toMatch(/^\/tmp\/virtdesk-\d+\/[0-9a-f]{12}\/links\/lab\/a\.sock$/);
  });

  it('refuses link names that are not plain', () => {
    expect(() => linkEndpointPaths('/h', '../x', 'a', {})).toThrow(/link name/);
  });
});

import { describe, expect, it } from 'vitest';
import { forwardsClash, formatPortForward, parsePortForward } from '../../../engine/network/port-forward-spec';

describe('port forward specs', () => {
  it('parses the short form with a loopback default', () => {
    expect(parsePortForward('tcp:8080:80')).toEqual({ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 });
    expect(parsePortForward('UDP:5353:53')).toEqual({ protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 5353, guestPort: 53 });
  });

  it('parses a host address', () => {
    expect(parsePortForward('tcp:0.0.0.0:2222:22')).toEqual({ protocol: 'tcp', hostAddress: '0.0.0.0', hostPort: 2222, guestPort: 22 });
    expect(formatPortForward(parsePortForward('udp:127.0.0.2:1:65535'))).toBe('udp:127.0.0.2:1:65535');
  });

  it.each([
    ['sctp:1:2', /must start with tcp: or udp:/],
    ['tcp:80', /expected 3 or 4/],
    ['tcp:a:b:c:d:e', /expected 3 or 4/],
    ['tcp:0:80', /host port "0"/],
    ['tcp:65536:80', /host port "65536"/],
    ['tcp:80:', /guest port ""/],
    ['tcp:080:80', /host port "080"/],
    ['tcp:localhost:80:80', /host address "localhost"/],
    ['tcp:1.2.3:80:80', /host address/],
  ])('refuses %j', (spec, message) => {
    expect(() => parsePortForward(spec)).toThrow(message);
  });

  it('detects forwards binding the same host socket', () => {
    const a = parsePortForward('tcp:8080:80');
    expect(forwardsClash(a, parsePortForward('tcp:8080:81'))).toBe(true);
    expect(forwardsClash(a, parsePortForward('udp:8080:80'))).toBe(false);
    expect(forwardsClash(a, parsePortForward('tcp:127.0.0.2:8080:80'))).toBe(false);
    expect(forwardsClash(a, parsePortForward('tcp:0.0.0.0:8080:80'))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { forwardsClash, formatPortForward, parseForwardSelector, parsePortForward } from '../../../engine/model/net/port-forward-spec';

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

describe('forward selectors (for removal)', () => {
  it.each([
    ['tcp:8080', { protocol: 'tcp', hostPort: 8080 }],
    ['udp:127.0.0.1:5353', { protocol: 'udp', hostPort: 5353, hostAddress: '127.0.0.1' }],
    ['tcp:8080:80', { protocol: 'tcp', hostPort: 8080 }],
    ['tcp:0.0.0.0:8080:80', { protocol: 'tcp', hostPort: 8080, hostAddress: '0.0.0.0' }],
  ])('parses %j', (spec, expected) => {
    expect(parseForwardSelector(spec)).toEqual(expected);
  });
  it.each(['icmp:1', 'tcp', 'tcp:x', 'tcp:1.2.3.4:99999'])('refuses %j', (spec) => {
    expect(() => parseForwardSelector(spec)).toThrow(/Port forward/);
  });
});

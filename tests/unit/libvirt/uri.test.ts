import { describe, expect, it } from 'vitest';
import { localSocketCandidates, parseLibvirtUri } from '../../../engine/libvirt/uri';
import { remoteProxyCommand, sshArguments } from '../../../engine/libvirt/transport/ssh';
import { extractConnectOption } from '../../../engine/cli/connect-option';

describe('libvirt URIs', () => {
  it('splits the URIs Virtdesk opens into transport and the daemon\'s URI', () => {
    expect(parseLibvirtUri('qemu:///system')).toMatchObject({ driver: 'qemu', transport: 'unix', path: 'system', serverUri: 'qemu:///system' });
    expect(parseLibvirtUri('qemu:///session')).toMatchObject({ transport: 'unix', path: 'session', serverUri: 'qemu:///session' });
    expect(parseLibvirtUri('test:///default')).toMatchObject({ driver: 'test', transport: 'unix', serverUri: 'test:///default' });
    expect(parseLibvirtUri('test+unix:///default?socket=/tmp/s')).toMatchObject({ transport: 'unix', socket: '/tmp/s', serverUri: 'test:///default' });
    expect(parseLibvirtUri('qemu+ssh://admin@host.example:2222/system?keyfile=/k')).toMatchObject({
      transport: 'ssh', host: 'host.example', user: 'admin', port: 2222, keyfile: '/k', path: 'system', serverUri: 'qemu:///system',
    });
    expect(parseLibvirtUri('qemu+ssh://[fd00::2]/session')).toMatchObject({ host: 'fd00::2', path: 'session' });
  });

  it('refuses what it cannot open, saying why and what works', () => {
    const refuse = (uri: string, why: RegExp) => expect(() => parseLibvirtUri(uri)).toThrow(why);
    refuse('lxc:///system', /the driver 'lxc' is not supported/);
    refuse('qemu+tls://host/system', /the transport 'tls' is not supported/);
    refuse('qemu+libssh2://host/system', /the transport 'libssh2'/);
    refuse('qemu:///embed', /the path '\/embed' is not \/system or \/session/);
    refuse('qemu://host/system', /a local URI has no host name/);
    refuse('qemu+ssh:///system', /qemu\+ssh needs a host name/);
    refuse('qemu+ssh://h/system?no_verify=1', /Virtdesk always checks SSH host keys/);
    refuse('qemu+ssh://h/system?netcat=/bin/nc', /'netcat' is not supported/);
    refuse('not a uri', /it is not a URI/);
    try { parseLibvirtUri('xen:///'); } catch (error) { expect(error).toMatchObject({ code: 'invalid-argument', hint: expect.stringContaining('qemu:///system') }); }
  });

  it('finds the local daemon socket the way libvirt does', () => {
    expect(localSocketCandidates(parseLibvirtUri('qemu:///system'))).toEqual(['/run/libvirt/virtqemud-sock', '/run/libvirt/libvirt-sock']);
    expect(localSocketCandidates(parseLibvirtUri('qemu:///session'), { XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual(['/run/user/1000/libvirt/virtqemud-sock', '/run/user/1000/libvirt/libvirt-sock']);
  });
});

describe('the ssh command line', () => {
  it('runs virt-ssh-helper, or nc on hosts without it, with strict host keys, batch mode and a shared master', () => {
    const args = sshArguments({ host: 'h', user: 'u', port: 22, keyfile: '/k' }, { remoteUri: 'qemu:///system', remoteSocket: '/run/libvirt/libvirt-sock', controlDir: '/c' }, ['CMD']);
    expect(args.join(' ')).toBe('-p 22 -l u -i /k -T -e none -o BatchMode=yes -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPath=/c/%C -o ControlPersist=30 -o ConnectTimeout=10 -- h CMD');
    expect(remoteProxyCommand('qemu:///system', '/run/libvirt/libvirt-sock')).toBe(
      `sh -c 'if which virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper "qemu:///system"; fi; if nc -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0; else ARG=; fi; exec nc $ARG -U "/run/libvirt/libvirt-sock"'`,
    );
    expect(() => remoteProxyCommand('qemu:///system', '/x;rm -rf /')).toThrow(/does not pass through a remote shell/);
  });
});

describe('-c, --connect', () => {
  it('is taken out of the command line wherever it is', () => {
    expect(extractConnectOption(['-c', 'lab', 'vm', 'list'])).toEqual({ argv: ['vm', 'list'], connect: 'lab' });
    expect(extractConnectOption(['vm', 'start', 'a', '--connect', 'qemu:///system'])).toEqual({ argv: ['vm', 'start', 'a'], connect: 'qemu:///system' });
    expect(extractConnectOption(['vm', 'list', '--connect=lab'])).toEqual({ argv: ['vm', 'list'], connect: 'lab' });
    expect(extractConnectOption(['vm', 'list'])).toEqual({ argv: ['vm', 'list'] });
    expect(extractConnectOption(['vm', 'list', '-c'])).toMatchObject({ error: '-c needs a connection name or libvirt URI' });
    expect(extractConnectOption(['-c', 'a', '-c', 'b', 'vm', 'list'])).toMatchObject({ error: 'give -c/--connect once' });
  });
});

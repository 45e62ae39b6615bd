/**
 * Takes the global `-c, --connect NAME|URI` out of a command line (anywhere, like virsh's `-c`):
 * the rest is the command as usual, and the connection picks who runs it.
 */
export function extractConnectOption(argv: readonly string[]): { argv: string[]; connect?: string; error?: string } {
  const rest: string[] = [];
  let connect: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') {
      rest.push(...argv.slice(index));
      break;
    }
    let value: string | undefined;
    if (arg === '-c' || arg === '--connect') {
      value = argv[++index];
      if (value === undefined || value.startsWith('-')) return { argv: rest, error: `${arg} needs a connection name or libvirt URI` };
    } else if (arg.startsWith('--connect=')) {
      value = arg.slice('--connect='.length);
    } else {
      rest.push(arg);
      continue;
    }
    if (connect !== undefined && connect !== value) return { argv: rest, error: 'give -c/--connect once' };
    connect = value;
  }
  return connect === undefined ? { argv: rest } : { argv: rest, connect };
}

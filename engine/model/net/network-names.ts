import { EngineError } from '../errors';

export const MAX_NETWORK_NAME = 32;
/** Network names end up in file names, nft table names and dnsmasq options: keep them plain. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function networkNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_NETWORK_NAME) return `is longer than ${MAX_NETWORK_NAME} characters`;
  if (!NETWORK_NAME.test(name)) return 'may only contain letters, digits, "-" and "_", and must start with a letter or digit';
  return undefined;
}

export function validateNetworkName(name: string, what = 'network name'): string {
  const problem = networkNameProblem(name);
  if (problem !== undefined) {
    throw new EngineError('invalid-argument', `The ${what} "${name}" ${problem}`, { hint: 'Use a name such as default or lab-net.' });
  }
  return name;
}

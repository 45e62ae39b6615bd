import { EngineError } from '../errors';

/** The kernel's IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_INTERFACE_NAME = 15;

/**
 * Interface names the kernel accepts (dev_valid_name: not empty, not "." or "..",
 * at most 15 bytes, no "/", ":" or whitespace). We are stricter: letters, digits and
 * `-_.` only, starting with a letter, so a name is safe in nft rules, dnsmasq
 * options and file names without quoting.
 */
const INTERFACE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_INTERFACE_NAME) return `is ${name.length} characters long; the kernel allows at most ${MAX_INTERFACE_NAME}`;
  if (!INTERFACE_NAME.test(name)) return 'may only contain letters, digits, "-", "_" and ".", and must start with a letter';
  return undefined;
}

export function validateInterfaceName(name: string, what = 'interface name'): string {
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) {
    throw new EngineError('invalid-argument', `The ${what} "${name}" ${problem}`, {
      hint: 'Use a short name such as virbr1 or br0.',
    });
  }
  return name;
}

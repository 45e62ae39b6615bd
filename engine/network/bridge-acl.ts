import { readFile } from 'node:fs/promises';

/** What qemu-bridge-helper's ACL file says about one bridge. */
export interface BridgeAclVerdict {
  allowed: boolean;
  /** The rule that decided, e.g. `deny all (in /etc/qemu/bridge.conf)`, when there is one. */
  reason: string | undefined;
  /** Files the helper would read, in order (bridge.conf and its includes). */
  files: string[];
  /** Problems that make the helper fail outright (unreadable default file, invalid line). */
  errors: string[];
}

type Rule = { type: 'allow' | 'deny'; name: string | 'all'; file: string };

/**
 * Evaluates qemu-bridge-helper's ACL the way the helper does (qemu-bridge-helper.c, QEMU 7.2):
 * `allow NAME|all`, `deny NAME|all`, `include FILE` (unreadable includes are ignored), `#`
 * comments; any other line makes the whole file invalid. Deny wins over allow; nothing
 * allowed means denied. The helper reads the files as the calling user (it drops to the real
 * uid first), so "readable" here is judged by this process.
 */
export async function evaluateBridgeAcl(bridge: string, confPath: string, readText: (path: string) => Promise<string> = (p) => readFile(p, 'utf8')): Promise<BridgeAclVerdict> {
  const rules: Rule[] = [];
  const files: string[] = [];
  const errors: string[] = [];

  async function parse(file: string, isDefault: boolean, depth: number): Promise<void> {
    if (depth > 8) return; // the helper would recurse forever on an include loop; we stop
    let text: string;
    try {
      text = await readText(file);
    } catch (error) {
      if (isDefault) errors.push(`${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return;
    }
    files.push(file);
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const match = /^(\S+)[ \t]+(.*)$/.exec(line);
      if (!match) {
        errors.push(`${file}: invalid line "${line}"`);
        continue;
      }
      const [, command, argument] = match as unknown as [string, string, string];
      const arg = argument.trim();
      if (command === 'allow' || command === 'deny') rules.push({ type: command, name: arg, file });
      else if (command === 'include') await parse(arg, false, depth + 1);
      else errors.push(`${file}: unknown command "${command}"`);
    }
  }

  await parse(confPath, true, 0);
  const matching = rules.filter((rule) => rule.name === 'all' || rule.name === bridge);
  const deny = matching.find((rule) => rule.type === 'deny');
  const allow = matching.find((rule) => rule.type === 'allow');
  const describe = (rule: Rule) => `${rule.type} ${rule.name} (in ${rule.file})`;
  if (errors.length > 0) return { allowed: false, reason: errors[0], files, errors };
  if (deny) return { allowed: false, reason: describe(deny), files, errors };
  if (allow) return { allowed: true, reason: describe(allow), files, errors };
  return { allowed: false, reason: undefined, files, errors };
}

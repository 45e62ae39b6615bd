/**
 * Entry of virtdesk-net-helper, the program pkexec runs as root (see helper.ts and
 * assets/polkit/). Build it as its own bundle; it imports nothing but the network helper code.
 */
import { helperMain } from './helper';

// pkexec gives a clean environment; of the caller's, only PKEXEC_UID (set by pkexec) is read.
void helperMain(process.argv.slice(2), process.env).then(({ exitCode, output }) => {
  process.stdout.write(output);
  process.exitCode = exitCode;
});

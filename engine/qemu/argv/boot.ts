import type { ArgvStep } from './context';

/**
 * The boot order itself is `bootindex` on each device (see boot-index.ts); here only the
 * firmware menu and direct kernel boot. -kernel/-initrd/-append values are not option strings,
 * so they need no comma escaping.
 */
export const bootStep: ArgvStep = {
  name: 'boot',
  build: ({ def }) => {
    const args = def.boot.menu ? ['-boot', 'menu=on'] : [];
    const direct = def.directKernel;
    if (direct !== null) {
      args.push('-kernel', direct.kernel);
      if (direct.initrd !== null) args.push('-initrd', direct.initrd);
      if (direct.cmdline !== '') args.push('-append', direct.cmdline);
    }
    return args;
  },
};

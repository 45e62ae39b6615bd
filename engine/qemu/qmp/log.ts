/** Where the QMP layer reports what it ignored or recovered from. Hosts pass their own logger. */
export interface QmpLog {
  debug(message: string): void;
  warn(message: string): void;
}

export const silentQmpLog: QmpLog = {
  debug: () => {},
  warn: () => {},
};

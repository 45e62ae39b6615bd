/** One VM's serial console shared among many viewers (QEMU's chardev socket serves only one). */
export { OutputHistory, readFileTail } from './output-history';
export { connectSerialConsole, serialConsoleEndpoint, type SerialConsoleEndpoint } from './serial-console';
export { DEFAULT_HISTORY_BYTES, DEFAULT_MAX_CLIENT_BUFFER_BYTES, SerialMux, type SerialMuxEnd, type SerialMuxOptions } from './serial-mux';
export { claimSocketPath, socketAccepts } from './socket-file';

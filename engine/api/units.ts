// The ground floor's one byte formatter, for the renderer (which imports only engine/api).
export { formatBytes } from '../model/bytes';

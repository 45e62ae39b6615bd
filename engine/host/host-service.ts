import { hostname } from 'node:os';
import type { HostInfo } from '../api/virtdesk-api';
import { ENGINE_VERSION } from '../version';

export function hostInfo(hostKind: HostInfo['hostKind']): HostInfo {
  return { engineVersion: ENGINE_VERSION, hostname: hostname(), hostKind };
}

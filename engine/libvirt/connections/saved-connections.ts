// The libvirt connections the user added, kept in the preferences (read-modify-write under the
// preferences file's lock, so the CLI and a running app never lose each other's changes).
import { EngineError } from '../../api/errors';
import { savedConnectionSchema, type SavedConnection } from '../../api/preferences-api';
import { readPreferences, updatePreferences } from '../../preferences/preferences-file';
import { parseLibvirtUri } from '../uri';

export async function listSavedConnections(home: string): Promise<SavedConnection[]> {
  return (await readPreferences(home)).preferences.connections;
}

export async function addSavedConnection(home: string, input: { name: string; uri: string; autoconnect?: boolean }): Promise<SavedConnection> {
  const parsed = savedConnectionSchema.safeParse(input);
  if (!parsed.success) {
    throw new EngineError('invalid-argument', `"${input.name}" cannot name a connection: ${parsed.error.issues.map((issue) => issue.message).join('; ')}.`, {
      hint: 'Use letters, digits, dots, dashes and underscores, starting with a letter or digit.',
    });
  }
  parseLibvirtUri(input.uri); // refuses an unsupported URI before it is saved
  const connection = parsed.data;
  await updatePreferences(home, (current) => {
    const clash = current.connections.find((existing) => existing.name === connection.name);
    if (clash) {
      throw new EngineError('already-exists', `A connection named "${connection.name}" already exists (${clash.uri}).`, {
        hint: `Pick another name, or remove it first: virtdesk conn remove ${connection.name}`,
      });
    }
    return { connections: [...current.connections, connection] };
  });
  return connection;
}

export async function removeSavedConnection(home: string, name: string): Promise<SavedConnection> {
  let removed: SavedConnection | undefined;
  await updatePreferences(home, (current) => {
    removed = current.connections.find((existing) => existing.name === name);
    if (!removed) throw notFound(name, current.connections);
    return { connections: current.connections.filter((existing) => existing.name !== name) };
  });
  return removed!;
}

/** A saved connection by name, or a URI given directly (`-c qemu:///system`). */
export async function resolveConnection(home: string, nameOrUri: string): Promise<SavedConnection> {
  if (nameOrUri.includes(':')) {
    parseLibvirtUri(nameOrUri);
    return { name: nameOrUri, uri: nameOrUri, autoconnect: false };
  }
  const saved = await listSavedConnections(home);
  const found = saved.find((connection) => connection.name === nameOrUri);
  if (!found) throw notFound(nameOrUri, saved);
  return found;
}

function notFound(name: string, saved: SavedConnection[]): EngineError {
  return new EngineError('not-found', `There is no connection named "${name}".`, {
    hint: saved.length > 0
      ? `Known connections: ${saved.map((connection) => connection.name).join(', ')}. Or give a libvirt URI such as qemu:///system.`
      : 'Add one with: virtdesk conn add NAME URI (for example qemu:///system), or give the URI itself.',
  });
}

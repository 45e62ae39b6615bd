/** The sections of the manager window, in sidebar order (Alt+1 is the first). */
export const sections = [
  { id: 'machines', label: 'Machines' },
  { id: 'images', label: 'Images' },
  { id: 'networks', label: 'Networks' },
  { id: 'host', label: 'Host' },
  { id: 'preferences', label: 'Preferences' },
] as const;

export type SectionId = (typeof sections)[number]['id'];

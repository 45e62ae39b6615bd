/** Save a running VM's state to a file and stop it; its next start restores that state. */
export { applyQuitPreference, type QuitOutcome } from './quit-preference';
export { assertMachineAvailable, machineFamily } from './machine-fit';
export { assertSavedStateFits, resumeFromSavedState } from './restore';
export { saveVm, type SaveOptions, type SaveResult } from './save';
export { discardSavedState, readSavedState, savedAt, savedMemoryFile, savedStateDir, type SavedStateRecord } from './saved-state';

/** Clones (full or linked) and templates (read-only bases of linked clones). */
export { cloneVm, type CloneOptions, type CloneResult } from './clone-vm';
export { copyImageSnapshot } from './copy-image';
export { assertNotTemplate, isTemplate, linkedClonesOf, markTemplate, unmarkTemplate, type TemplateBlockedAction } from './template';

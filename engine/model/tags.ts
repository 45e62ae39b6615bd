import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

export const MAX_TAGS = 16;
export const MAX_TAG_LENGTH = 32;

/** A tag (group) of a VM: letters, digits, `.`, `_`, `-` and spaces; no edges of whitespace. */
export const tagSchema = z
  .string()
  .min(1, 'a tag must not be empty')
  .max(MAX_TAG_LENGTH, `a tag must be at most ${MAX_TAG_LENGTH} characters`)
  .regex(/^[\p{L}\p{N}._\- ]*$/u, 'a tag may hold only letters, digits, ".", "_", "-" and spaces')
  .refine((tag) => tag.trim() === tag, 'a tag must not start or end with a space');

/** Tags compare case-insensitively: "Lab" and "lab" are the same group. */
export const tagKey = (tag: string): string => tag.toLocaleLowerCase('en-US');

export const tagsSchema = z
  .array(tagSchema)
  .max(MAX_TAGS, `a VM may have at most ${MAX_TAGS} tags`)
  .superRefine((tags, ctx) => {
    const seen = new Set<string>();
    tags.forEach((tag, index) => {
      const key = tagKey(tag);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `tag "${tag}" is given twice (tags ignore case)`, path: [index] });
      seen.add(key);
    });
  })
  .default(() => [...VM_DEFAULTS.tags]);

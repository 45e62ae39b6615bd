/** One entry of a ContextMenu. */
export interface MenuItem {
  id: string;
  label: string;
  shortcut?: string;
  disabled?: boolean;
  danger?: boolean;
  /** Draws a line above this item. */
  separatorBefore?: boolean;
}

export type ThemeChoice = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'virtdesk.theme';

/** Light, dark, or the system's choice; applied as `data-theme` on the root element. */
export class Theme {
  choice = $state<ThemeChoice>(readChoice());

  constructor() {
    this.apply();
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    localStorage.setItem(STORAGE_KEY, choice);
    this.apply();
  }

  toggle(): void {
    const dark = this.choice === 'dark' || (this.choice === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
    this.set(dark ? 'light' : 'dark');
  }

  private apply(): void {
    if (this.choice === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = this.choice;
  }
}

function readChoice(): ThemeChoice {
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored === 'light' || stored === 'dark' ? stored : 'system';
}

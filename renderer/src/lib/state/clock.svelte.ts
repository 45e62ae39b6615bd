import { createSubscriber } from 'svelte/reactivity';

/** Ticks once a second while something on screen reads it (elapsed times), and not at all otherwise. */
const subscribe = createSubscriber((update) => {
  const timer = setInterval(update, 1000);
  return () => clearInterval(timer);
});

/** Date.now(), re-read every second by the effect or template that calls it. */
export function nowMs(): number {
  subscribe();
  return Date.now();
}

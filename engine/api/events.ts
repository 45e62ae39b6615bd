/** A typed publish/subscribe bus. The engine emits domain events here; RPC servers forward them. */
export interface EventBus<E extends Record<string, unknown>> {
  emit<T extends keyof E & string>(topic: T, data: E[T]): void;
  on<T extends keyof E & string>(topic: T, handler: (data: E[T]) => void): () => void;
  listenerCount(topic: keyof E & string): number;
}

export function createEventBus<E extends Record<string, unknown>>(): EventBus<E> {
  const handlers = new Map<string, Set<(data: never) => void>>();
  return {
    emit(topic, data) {
      for (const handler of [...(handlers.get(topic) ?? [])]) {
        try {
          (handler as (data: E[typeof topic]) => void)(data);
        } catch (error) {
          // One broken listener must not stop the others from hearing the event.
          console.error(`[events] listener for ${topic} threw:`, error);
        }
      }
    },
    on(topic, handler) {
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, (set = new Set()));
      set.add(handler as (data: never) => void);
      return () => {
        set.delete(handler as (data: never) => void);
      };
    },
    listenerCount(topic) {
      return handlers.get(topic)?.size ?? 0;
    },
  };
}

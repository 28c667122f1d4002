/**
 * Memoised asynchronous loading for adapters that are kept out of a Lambda's cold start. A failed load
 * is not cached: the next call tries again.
 */
export function lazyLoad<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      pending = load();
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

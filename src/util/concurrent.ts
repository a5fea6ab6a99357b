/**
 * `work(item, i)` for each item, at most `concurrency` at a time (at least one), started in order. Once
 * `signal` aborts, or once a call has thrown, no further item is started; the first error is thrown, after
 * the calls in flight have ended.
 * Hand-written rather than p-limit (not a dependency): p-limit keeps starting queued calls after one has thrown
 * and takes no AbortSignal.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed && !signal?.aborted) {
      const i = next++;
      try {
        await work(items[i] as T, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
  );
  const error = settled.find((r) => r.status === "rejected");
  if (error) throw (error as PromiseRejectedResult).reason;
}

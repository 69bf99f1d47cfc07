export interface SaveOutcome<R> {
  result: R;
  /** False when a newer save was requested meanwhile: its outcome, not this one, decides the UI. */
  latest: boolean;
}

/**
 * Serialises saves so they reach the server in the order they were made (no older write can land
 * after a newer one) and tags each outcome with whether it is still the latest request. Every
 * save sends the full document, so retrying after a failure is idempotent and conflict-free.
 */
export function createSaveQueue<T, R>(send: (value: T) => Promise<R>) {
  let chain: Promise<unknown> = Promise.resolve();
  let newest = 0;
  return {
    save(value: T): Promise<SaveOutcome<R>> {
      const ticket = ++newest;
      const run = chain.then(() => send(value));
      chain = run.catch(() => undefined);
      return run.then(
        (result) => ({ result, latest: ticket === newest }),
        (error: unknown) => {
          throw Object.assign(error instanceof Error ? error : new Error(String(error)), { latest: ticket === newest });
        },
      );
    },
  };
}

export function isLatestFailure(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { latest?: unknown }).latest === true;
}

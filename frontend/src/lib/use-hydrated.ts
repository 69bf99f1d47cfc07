import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

/**
 * False during server rendering and hydration, true once React handles events. Controls stay disabled
 * until then, so an early click cannot fall back to a native form submission (which would put the
 * password in the URL) and an early file pick is not lost.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}

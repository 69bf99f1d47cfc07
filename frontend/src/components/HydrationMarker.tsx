"use client";

import { useEffect } from "react";

/** Marks <html data-hydrated> once React is interactive (used by the e2e test to avoid racing hydration). */
export default function HydrationMarker() {
  useEffect(() => {
    document.documentElement.dataset.hydrated = "true";
  }, []);
  return null;
}

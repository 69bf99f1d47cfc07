"use client";

import { useState } from "react";
import { useHydrated } from "@/lib/use-hydrated";

export default function LogoutButton() {
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  async function logout() {
    setBusy(true);
    try {
      await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
    } finally {
      // A full navigation drops every cached page of the signed-in user.
      // eslint-disable-next-line @next/next/no-location-assign-relative-destination -- a full load drops the signed-in user's cached pages
      window.location.assign("/login");
    }
  }
  return (
    <button type="button" onClick={logout} disabled={busy || !hydrated}>
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}

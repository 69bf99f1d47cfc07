"use client";

import ConfirmButton from "@/components/ConfirmButton";
import { apiFetch } from "@/lib/client-api";

export default function DeleteAccountButton() {
  return (
    <ConfirmButton
      label="Delete my account"
      title="Delete your account?"
      message="Your documents, drafts, API keys and search index entries are erased. This cannot be undone."
      confirmLabel="Delete everything"
      onConfirm={async () => {
        await apiFetch("/api/bff/auth/me", { method: "DELETE" });
        await apiFetch("/api/auth/logout", { method: "POST" });
        // eslint-disable-next-line @next/next/no-location-assign-relative-destination -- a full load drops the signed-in user's cached pages
        window.location.assign("/register");
      }}
    />
  );
}

import type { Metadata } from "next";
import ErrorNotice from "@/components/ErrorNotice";
import { serverGet } from "@/lib/server-api";
import type { ApiKey, Page, User } from "@/lib/types";
import ApiKeys from "./ApiKeys";
import DeleteAccountButton from "./DeleteAccountButton";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage() {
  const [me, keys] = await Promise.all([serverGet<User>("auth/me"), serverGet<Page<ApiKey>>("auth/api-keys?limit=100&offset=0")]);
  return (
    <>
      <h1>Settings</h1>
      {me.ok ? (
        <section className="card" aria-labelledby="account-title">
          <h2 id="account-title">Account</h2>
          <p>
            {me.data.full_name} · {me.data.email}
          </p>
          <div className="row">
            <a className="button" href="/api/bff/auth/me/export" download="blog-creator-export.json">
              Download all my data (JSON)
            </a>
            <DeleteAccountButton />
          </div>
        </section>
      ) : (
        <ErrorNotice message={me.message} />
      )}
      {keys.ok ? <ApiKeys keys={keys.data.items} /> : <ErrorNotice message={keys.message} />}
    </>
  );
}

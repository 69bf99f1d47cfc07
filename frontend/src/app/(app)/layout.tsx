import Link from "next/link";
import LogoutButton from "@/components/LogoutButton";
import NavLinks from "@/components/NavLinks";
import { serverGet } from "@/lib/server-api";
import type { User } from "@/lib/types";

export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const me = await serverGet<User>("auth/me");
  return (
    <>
      <header className="topbar">
        <Link href="/dashboard" className="brand">
          Blog Creator
        </Link>
        <NavLinks />
        <span className="spacer" />
        {me.ok ? <span className="user">{me.data.email}</span> : null}
        <LogoutButton />
      </header>
      <main id="main">{children}</main>
    </>
  );
}

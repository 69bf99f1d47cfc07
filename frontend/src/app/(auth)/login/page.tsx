import type { Metadata } from "next";
import LoginForm from "./LoginForm";

export const metadata: Metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = typeof params.next === "string" ? params.next : undefined;
  const notice = params.registered
    ? "Account created. Sign in to continue."
    : params.expired
      ? "Your session has ended. Please sign in again."
      : undefined;
  return <LoginForm next={next} notice={notice} />;
}
